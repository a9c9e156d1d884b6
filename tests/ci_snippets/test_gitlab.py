"""The GitLab template run for real: gitlab-ci-local runs its job in a sample repository that includes it with
`include: local:`, on the bundled examples' reports; then the artefacts GitLab would collect are checked.

gitlab-ci-local does not collect `artifacts:reports`, so the files are read from the job's directory; and it
exits 0 for any failed job that has `allow_failure: exit_codes`, so the job's status and exit code are read
from its "finished in … FAIL 1" and summary lines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from jsonschema import Draft202012Validator

from tests.ci_snippets.conftest import (
    EXAMPLES,
    REPORTS,
    SNIPPETS,
    WARN_POLICY,
    Tool,
    UploadServer,
    ci_environment,
)
from tests.conftest import REPO

GITLAB = SNIPPETS / "gitlab"
TEMPLATE = GITLAB / "gatekeeper.gitlab-ci.yml"
COMPONENT = GITLAB / "templates" / "gatekeeper.yml"
CODEQUALITY_SCHEMA = json.loads((REPO / "tests" / "data" / "gitlab-codequality.schema.json").read_text())
# "gatekeeper finished in 205 ms  FAIL 1" (no code on success), then a summary line " FAIL  gatekeeper"
FINISHED = re.compile(r"^gatekeeper finished in [^\n]*?(?:(?:WARN|FAIL) (\d+))?[ \t]*$", re.MULTILINE)
SUMMARY = re.compile(r"^ (PASS|WARN|FAIL) +gatekeeper\b", re.MULTILINE)

PIPELINE = """include:
  - local: ci/gatekeeper.gitlab-ci.yml
    inputs:
      policy: gatekeeper.yaml
      reports: {reports}
"""
STORE_INPUT = "      store-url: {url}\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRun:
    returncode: int
    output: str
    status: str
    exit_code: int
    out: Path

    def json(self, name: str) -> Any:
        return json.loads((self.out / name).read_text(encoding="utf-8"))


def sample_repository(root: Path, project: str, policy: str, store_url: str = "") -> Path:
    """A git repository as a user would have it: the example's reports, a policy, the template under ci/."""
    repo = root / "repo"
    (repo / "reports").mkdir(parents=True)
    for name in REPORTS:
        shutil.copy(EXAMPLES / project / "reports" / name, repo / "reports" / name)
    (repo / "gatekeeper.yaml").write_text(policy, encoding="utf-8")
    (repo / "ci").mkdir()
    shutil.copy(TEMPLATE, repo / "ci" / TEMPLATE.name)
    reports = " ".join(f"reports/{name}" for name in REPORTS)
    pipeline = PIPELINE.format(reports=reports) + (STORE_INPUT.format(url=store_url) if store_url else "")
    (repo / ".gitlab-ci.yml").write_text(pipeline, encoding="utf-8")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run([*git, *command], cwd=repo, check=True, capture_output=True, timeout=60)
    return repo


def run_job(tool: Tool, repo: Path, *variables: str) -> JobRun:
    # --force-shell-executor: the template names an image; here the job runs in this machine's shell,
    # with this test run's gatekeeper on PATH (so the template skips its pip install).
    result = tool.run(
        "--no-color",
        "--force-shell-executor",
        *(f"--variable={variable}" for variable in variables),
        "gatekeeper",
        cwd=repo,
        env=ci_environment(HOME=str(repo.parent)),
    )
    output = result.stdout + result.stderr
    finished, summary = FINISHED.search(output), SUMMARY.search(output)
    assert finished and summary, output
    return JobRun(
        returncode=result.returncode,
        output=output,
        status=summary.group(1),
        exit_code=int(finished.group(1) or 0),
        out=repo / "gatekeeper-out",
    )


def check_artefacts(run: JobRun, status: str) -> dict[str, Any]:
    """The junit and code-quality reports GitLab would collect, and the verdict, agree with each other."""
    verdict: dict[str, Any] = run.json("verdict.json")
    assert verdict["status"] == status
    assert verdict["context"]["ci"] == "gitlab"
    junit = ElementTree.parse(run.out / "gate-junit.xml").getroot()
    assert int(junit.attrib["tests"]) == len(verdict["gates"])
    assert int(junit.attrib["failures"]) == sum(gate["status"] == "fail" for gate in verdict["gates"])
    codequality = run.json("gl-code-quality-report.json")
    Draft202012Validator(CODEQUALITY_SCHEMA).validate(codequality)
    flagged = [gate["id"] for gate in verdict["gates"] if gate["status"] in ("fail", "warn")]
    assert [issue["check_name"] for issue in codequality if issue["check_name"].startswith("gatekeeper/gate/")] == [
        f"gatekeeper/gate/{gate}" for gate in flagged
    ]
    assert (run.out / "gate.md").read_text(encoding="utf-8").strip()
    return verdict


def test_failing_example_fails_the_job_and_publishes_every_report(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    repo = sample_repository(tmp_path, "failing", (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8"))
    run = run_job(gitlab_ci_local, repo)
    assert (run.status, run.exit_code) == ("FAIL", 1), run.output
    verdict = check_artefacts(run, "fail")
    codequality = run.json("gl-code-quality-report.json")
    findings = [issue for issue in codequality if not issue["check_name"].startswith("gatekeeper/")]
    assert len(findings) == len(verdict["details"]["findings"]) == 18
    assert {issue["location"]["path"] for issue in findings} == {"src/ledger/legacy.py", "src/ledger/statements.py"}
    blockers = {issue["check_name"] for issue in codequality if issue["severity"] == "blocker"}
    assert blockers == {"gatekeeper/gate/tests-all-pass", "gatekeeper/gate/no-critical-or-high-findings"}


def test_passing_example_passes_the_job(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    repo = sample_repository(tmp_path, "passing", (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8"))
    run = run_job(gitlab_ci_local, repo)
    assert (run.status, run.returncode) == ("PASS", 0), run.output
    check_artefacts(run, "pass")
    # No gate issue; the example's two low findings (bandit and semgrep on one line) are still shown, as minor.
    issues = run.json("gl-code-quality-report.json")
    assert sorted((issue["check_name"], issue["severity"]) for issue in issues) == [
        ("bandit/B311", "minor"),
        ("semgrep/non-cryptographic-random", "minor"),
    ]


def test_a_warning_is_an_allowed_failure(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    repo = sample_repository(tmp_path, "passing", WARN_POLICY)
    run = run_job(gitlab_ci_local, repo)
    assert (run.status, run.exit_code, run.returncode) == ("WARN", 10, 0), run.output
    check_artefacts(run, "warn")
    issues = run.json("gl-code-quality-report.json")
    assert (issues[0]["check_name"], issues[0]["severity"]) == ("gatekeeper/gate/many-tests", "minor")
    assert all(issue["check_name"].startswith(("bandit/", "semgrep/")) for issue in issues[1:])


def test_the_job_uploads_the_verdict_to_a_real_store_server(
    gitlab_ci_local: Tool, tmp_path: Path, upload_server: UploadServer
) -> None:
    """`store-url` input plus a GATEKEEPER_TOKEN CI/CD variable, as a project would set them."""
    starter = (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8")
    repo = sample_repository(tmp_path, "passing", starter, store_url=upload_server.url)
    run = run_job(gitlab_ci_local, repo, f"GATEKEEPER_TOKEN={upload_server.token}")
    stored = upload_server.server.stored_ids()
    assert run.status == "PASS", run.output
    verdict = check_artefacts(run, "pass")
    assert stored == [verdict["id"]]


def _documents(path: Path) -> tuple[str, str]:
    header, body = path.read_text(encoding="utf-8").split("\n---\n")
    return header, body


@pytest.mark.parametrize("path", [TEMPLATE, COMPONENT], ids=["template", "component"])
def test_template_and_component_validate_against_gitlab_ci_schema(
    check_jsonschema: Tool, path: Path, tmp_path: Path
) -> None:
    """The schema cannot read a file with a `spec:` header document: each document is checked on its own."""
    header, body = _documents(path)
    (tmp_path / "spec.yml").write_text(header + "\n", encoding="utf-8")
    (tmp_path / "job.yml").write_text(body, encoding="utf-8")
    result = check_jsonschema.run("--builtin-schema", "vendor.gitlab-ci", "spec.yml", "job.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_component_is_the_template() -> None:
    """The same inputs and job; only the comments on top differ."""
    template_spec, template_job = _documents(TEMPLATE)
    component_spec, component_job = _documents(COMPONENT)
    assert component_job == template_job
    assert component_spec[component_spec.index("spec:") :] == template_spec[template_spec.index("spec:") :]
