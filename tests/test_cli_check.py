"""`gatekeeper check` end to end, through the installed console script, as a CI job runs it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
VERDICT_SCHEMA = json.loads((REPO / "schemas" / "verdict.schema.json").read_text())

PASSING_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2">
<testcase classname="t" name="a" time="0.1"/><testcase classname="t" name="b" time="0.2"/>
</testsuite></testsuites>"""
FAILING_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="2">
<testcase classname="t" name="a" time="0.1"/>
<testcase classname="t" name="b" time="0.2"><failure message="assert 1 == 2">trace</failure></testcase>
</testsuite></testsuites>"""
POLICY = """policy: cli-test
gates:
  - id: tests-all-pass
    criterion: every commit is tested
    metric: tests.pass_percent
    min: 100
  - id: enough-tests
    metric: tests.total
    min: 3
    severity: warn
"""


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS"))}
    environment.pop("GATEKEEPER_STORE", None)
    environment.update(env or {})
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "pass.xml").write_text(PASSING_JUNIT)
    (tmp_path / "fail.xml").write_text(FAILING_JUNIT)
    return tmp_path


def test_warn_exits_zero_and_is_recorded_in_the_default_store(workspace: Path) -> None:
    result = run("check", "--policy", "policy.yaml", "pass.xml", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("WARN")
    assert "tests 2 < 3" in result.stdout
    with sqlite3.connect(workspace / ".gatekeeper" / "verdicts.db") as db:
        assert db.execute("select status from verdicts").fetchall() == [("warn",)]


def test_warn_exit_code_for_jenkins_unstable(workspace: Path) -> None:
    result = run("check", "-p", "policy.yaml", "pass.xml", "--warn-exit-code", "78", "--no-store", cwd=workspace)
    assert result.returncode == 78
    assert not (workspace / ".gatekeeper").exists()


def test_blocking_failure_exits_one_with_every_output(workspace: Path) -> None:
    result = run(
        "check",
        "-p",
        "policy.yaml",
        "fail.xml",
        "--format",
        "json",
        "-o",
        "markdown=out/gate.md",
        "-o",
        "junit=out/gate-junit.xml",
        "-o",
        "text=out/gate.txt",
        "--branch",
        "main",
        "--project",
        "acme/ledger",
        "--commit",
        "abc1234",
        cwd=workspace,
    )
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    jsonschema.validate(verdict, VERDICT_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert verdict["status"] == "fail"
    assert verdict["context"]["project"] == "acme/ledger" and verdict["context"]["branch"] == "main"
    assert [g["status"] for g in verdict["gates"]] == ["fail", "warn"]
    assert verdict["inputs"][0]["format"] == "junit" and len(verdict["inputs"][0]["sha256"]) == 64
    assert "test pass rate 50%" in (workspace / "out" / "gate.md").read_text()
    assert "<failure" in (workspace / "out" / "gate-junit.xml").read_text()
    assert (workspace / "out" / "gate.txt").read_text().startswith("FAIL")


def test_bad_report_exits_two_records_an_error_verdict(workspace: Path) -> None:
    (workspace / "broken.xml").write_text("<testsuites><testsuite>")
    result = run("check", "-p", "policy.yaml", "pass.xml", "broken.xml", "--format", "json", cwd=workspace)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "broken.xml" in result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "error"
    assert [i["path"] for i in verdict["inputs"]] == ["pass.xml"]  # what was read is kept
    jsonschema.validate(verdict, VERDICT_SCHEMA, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-p", "missing.yaml", "pass.xml"], "missing.yaml: no such policy file"),
        (["-p", "policy.yaml"], "no reports to read"),
        (["-p", "policy.yaml", "nothing-*.xml"], "no files match"),
        (["-p", "policy.yaml", "pass.xml", "-o", "pdf=x.pdf"], "FORMAT=PATH"),
    ],
)
def test_cannot_decide_exits_two(workspace: Path, args: list[str], fragment: str) -> None:
    result = run("check", *args, cwd=workspace)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_bad_policy_names_file_line_and_column(workspace: Path) -> None:
    (workspace / "bad.yaml").write_text("policy: x\ngates:\n  - id: a\n    metric: tests.pass_rate\n    min: 1\n")
    result = run("check", "-p", "bad.yaml", "pass.xml", cwd=workspace)
    assert result.returncode == 2
    assert result.stderr.startswith("gatekeeper: error: bad.yaml:4:13: ")
    assert "unknown metric 'tests.pass_rate'" in result.stderr


def test_ci_context_detected_from_gitlab_environment(workspace: Path) -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_PROJECT_PATH": "bank/payments",
        "CI_COMMIT_SHA": "f00dcafe",
        "CI_COMMIT_REF_NAME": "release/1.2",
        "CI_PIPELINE_ID": "4242",
        "CI_JOB_NAME": "gate",
    }
    result = run("check", "-p", "policy.yaml", "pass.xml", "--format", "json", "--no-store", cwd=workspace, env=env)
    context = json.loads(result.stdout)["context"]
    assert context["ci"] == "gitlab" and context["project"] == "bank/payments"
    assert context["branch"] == "release/1.2" and context["pipeline"] == "4242"


def test_two_dozen_concurrent_checks_store_every_verdict_once(workspace: Path) -> None:
    store = workspace / "shared.db"

    def one(index: int) -> tuple[int, str]:
        result = run(
            "check",
            "-p",
            "policy.yaml",
            "pass.xml",
            "fail.xml" if index % 2 else "pass.xml",
            "--format",
            "json",
            "--store",
            str(store),
            "--pipeline",
            str(index),
            cwd=workspace,
        )
        return result.returncode, json.loads(result.stdout)["id"]

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(one, range(24)))
    assert sorted(code for code, _ in outcomes) == [0] * 12 + [1] * 12
    with sqlite3.connect(store) as db:
        stored = [row[0] for row in db.execute("select id from verdicts")]
    assert sorted(stored) == sorted(verdict_id for _, verdict_id in outcomes)


@pytest.mark.parametrize("code", ["1", "2", "3", "4", "130"])
def test_a_warn_exit_code_that_already_means_something_is_refused(workspace: Path, code: str) -> None:
    """A warning exiting 3 would read as a crash in CI, 1 as a failed gate: the contract's codes stay theirs."""
    result = run("check", "-p", "policy.yaml", "pass.xml", "--warn-exit-code", code, "--no-store", cwd=workspace)
    assert result.returncode == 2
    assert f"{code} already means" in result.stderr
    assert "Traceback" not in result.stderr
