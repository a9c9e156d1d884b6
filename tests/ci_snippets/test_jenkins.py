"""The Jenkins snippets: the Groovy linted with npm-groovy-lint, and the step's script (which runs gatekeeper
and maps its exit code to SUCCESS/UNSTABLE/FAILURE) run in a shell with the real gatekeeper."""

from __future__ import annotations

import json
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.ci_snippets.conftest import (
    SNIPPETS,
    WARN_POLICY,
    Tool,
    UploadServer,
    ci_environment,
    example_reports,
)
from tests.conftest import REPO

JENKINS = SNIPPETS / "jenkins"
STEP = JENKINS / "resources" / "gatekeeper" / "gatekeeper-step.sh"
STARTER = REPO / "rules" / "starter.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRun:
    """What one run of the step left behind: its exit code, output, the Jenkins result it chose, the files."""

    returncode: int
    output: str
    result: str
    message: str
    out: Path

    def verdict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "verdict.json").read_text(encoding="utf-8"))
        return data

    def junit_failures(self) -> int:
        return int(ElementTree.parse(self.out / "gate-junit.xml").getroot().attrib["failures"])


def run_step(bash: Path, workspace: Path, policy: Path, *args: str, **env: str) -> StepRun:
    environment = ci_environment(
        GATEKEEPER_POLICY=str(policy),
        GATEKEEPER_STORE=str(workspace / "verdicts.db"),
        GATEKEEPER_SPOOL=str(workspace / "spool"),
        **env,
    )
    process = subprocess.run(
        [str(bash), str(STEP), *args],
        cwd=workspace,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = workspace / "gatekeeper-out"
    lines = (out / "result").read_text(encoding="utf-8").splitlines() if (out / "result").exists() else ["", ""]
    return StepRun(
        returncode=process.returncode,
        output=process.stdout + process.stderr,
        result=lines[0],
        message=lines[1],
        out=out,
    )


def test_groovy_step_and_jenkinsfile_pass_npm_groovy_lint(groovy_lint: Tool) -> None:
    """Both files in one call (a JVM start each time); --noserver leaves no lint server running."""
    result = groovy_lint.run(
        "--noserver", "--failon", "warning", "--output", "json", "Jenkinsfile", "vars/gatekeeper.groovy", cwd=JENKINS
    )
    report = json.loads(result.stdout[result.stdout.index("{") :])
    problems = [error for file in report["files"].values() for error in file["errors"]]
    assert report["summary"]["totalFilesLinted"] == 2
    assert problems == []
    assert result.returncode == 0, result.stderr


def test_a_passing_build_is_success(bash: Path, tmp_path: Path) -> None:
    run = run_step(bash, tmp_path, STARTER, *example_reports("passing"))
    assert run.returncode == 0, run.output
    assert (run.result, run.verdict()["status"]) == ("SUCCESS", "pass")
    assert run.message.startswith("quality gate passed")
    assert run.junit_failures() == 0
    assert "exit code 0 -> SUCCESS" in run.output


def test_a_failed_gate_is_failure(bash: Path, tmp_path: Path) -> None:
    run = run_step(bash, tmp_path, STARTER, *example_reports("failing"))
    assert run.returncode == 0, run.output  # the step decided; the Groovy applies the result
    assert (run.result, run.verdict()["status"]) == ("FAILURE", "fail")
    assert "tests-all-pass" in run.message
    assert run.junit_failures() == 2  # tests-all-pass and no-critical-or-high-findings, as junit failures
    assert "exit code 1 -> FAILURE" in run.output
    assert (run.out / "gate.md").read_text(encoding="utf-8").strip()


def test_a_warning_is_unstable(bash: Path, tmp_path: Path) -> None:
    policy = tmp_path / "warn.yaml"
    policy.write_text(WARN_POLICY, encoding="utf-8")
    run = run_step(bash, tmp_path, policy, *example_reports("passing"))
    assert (run.result, run.verdict()["status"]) == ("UNSTABLE", "warn")
    assert "exit code 10 -> UNSTABLE" in run.output  # --warn-exit-code 10
    assert "many-tests" in run.message


def test_a_missing_report_is_failure_saying_the_gate_could_not_decide(bash: Path, tmp_path: Path) -> None:
    run = run_step(bash, tmp_path, STARTER, str(tmp_path / "no-such-junit.xml"))
    assert run.result == "FAILURE"
    assert run.message.startswith("quality gate could not decide")
    assert "no-such-junit.xml" in run.message
    assert run.verdict()["status"] == "error"
    assert "exit code 2 -> FAILURE" in run.output


def test_an_undelivered_verdict_with_require_upload_is_unstable(bash: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_step(
        bash,
        tmp_path,
        STARTER,
        *example_reports("passing"),
        "--upload-timeout",
        "1",
        GATEKEEPER_URL=f"http://127.0.0.1:{port}",
        GATEKEEPER_TOKEN="not-a-real-token",
        GATEKEEPER_REQUIRE_UPLOAD="true",
    )
    assert "exit code 4 -> UNSTABLE" in run.output
    assert run.result == "UNSTABLE"
    assert "could not be uploaded" in run.message
    assert "not-a-real-token" not in run.output
    assert list((tmp_path / "spool").rglob("*.json")), "the verdict waits in the spool for the next run"


def test_the_step_refuses_to_run_without_a_policy(bash: Path, tmp_path: Path) -> None:
    environment = ci_environment()
    process = subprocess.run(
        [str(bash), str(STEP)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert process.returncode == 2
    assert "GATEKEEPER_POLICY" in process.stderr


@pytest.mark.parametrize(
    ("code", "verdict_status", "result", "words"),
    [
        (3, None, "FAILURE", "internal error"),  # 3 without a warn verdict is gatekeeper's own crash
        (3, "fail", "FAILURE", "internal error"),
        (130, None, "FAILURE", "interrupted"),
        (42, None, "FAILURE", "unexpected code 42"),
        (4, "warn", "UNSTABLE", "decided warn"),
    ],
)
def test_codes_a_healthy_gatekeeper_cannot_give_map_as_documented(
    bash: Path, tmp_path: Path, code: int, verdict_status: str | None, result: str, words: str
) -> None:
    """The mapping function itself, sourced into a shell, for the codes a healthy gatekeeper cannot be made to
    return here (a crash, Ctrl-C, an unknown code)."""
    verdict = tmp_path / "verdict.json"
    if verdict_status:
        verdict.write_text(json.dumps({"status": verdict_status, "reason": "r"}), encoding="utf-8")
    process = subprocess.run(
        [str(bash), "-c", f'source "{STEP}" && gatekeeper_result {code} "{verdict}"'],
        env=ci_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    first, second = process.stdout.splitlines()
    assert first == result
    assert words in second


def test_the_step_uploads_the_verdict_to_a_real_store_server(
    bash: Path, tmp_path: Path, upload_server: UploadServer
) -> None:
    """As in a Jenkins build: Jenkins' variables set, the token from the environment (a credential)."""
    run = run_step(
        bash,
        tmp_path,
        STARTER,
        *example_reports("passing"),
        GATEKEEPER_URL=upload_server.url,
        GATEKEEPER_TOKEN=upload_server.token,
        GATEKEEPER_REQUIRE_UPLOAD="true",
        GATEKEEPER_PIPELINE_STARTED_AT="1700000000000",
        JENKINS_URL="https://jenkins.example.com/",
        JOB_NAME="payments/api/main",
        BUILD_NUMBER="512",
        BUILD_URL="https://jenkins.example.com/job/payments/job/api/job/main/512/",
        GIT_COMMIT="3f2a9c1d4e5b6a7980f1e2d3c4b5a69788796a5b",
        GIT_BRANCH="origin/main",
    )
    stored = upload_server.server.stored_ids()
    assert run.result == "SUCCESS", run.output
    verdict = run.verdict()
    assert stored == [verdict["id"]]
    assert verdict["context"]["ci"] == "jenkins"
    assert upload_server.token not in run.output
