"""The GitHub and Jenkins deployment-recording snippets (issue 19): each validated by the tool its CI would
use (check-jsonschema's GitHub workflow schema, npm-groovy-lint), and its recording command run as the
runner would run it — the step's script with the CI's variables, in a real clone — against the real
gatekeeper, into an embedded store read back here."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import yaml

from tests.ci_snippets.conftest import SNIPPETS, Tool, ci_environment
from tests.diff.repo import Repo

WORKFLOW = SNIPPETS / "github" / "deploy.yml"
JENKINSFILE = SNIPPETS / "jenkins" / "Jenkinsfile.deploy"
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def clone(root: Path) -> tuple[Repo, list[str]]:
    repo = Repo.init(root / "clone")
    return repo, [repo.commit("ABC-1 first", a="1"), repo.commit("ABC-2 second", b="2")]


def deployments(store: Path) -> list[tuple[str, str, str, str, str | None]]:
    with sqlite3.connect(store) as db:
        return db.execute(
            'SELECT project, environment, "commit", status, pipeline FROM deployments ORDER BY deployed_at'
        ).fetchall()


def record_step() -> dict[str, object]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["deploy"]["steps"]
    [step] = [step for step in steps if step.get("name") == "Record the deployment"]
    assert steps[-1] is step and step["if"] == "${{ !cancelled() }}"
    assert steps[0]["with"] == {"fetch-depth": 0}  # the history the commits are read from
    return dict(step)


def run_github_step(repo: Repo, store: Path, job_status: str, run_id: str) -> subprocess.CompletedProcess[str]:
    """The step's script as the runner runs it: its env's expressions evaluated (none in the script)."""
    step = record_step()
    values = {"vars.GATEKEEPER_URL": "", "secrets.GATEKEEPER_TOKEN": "", "job.status": job_status}
    env = {
        name: EXPRESSION.sub(lambda match: values[match.group(1)], str(value))
        for name, value in dict(step["env"]).items()  # type: ignore[call-overload]
    }
    script = str(step["run"])
    assert "${{" not in script, "expressions reach the script only through its environment"
    environment = ci_environment(
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/payments",
        GITHUB_SHA=repo.head(),
        GITHUB_RUN_ID=run_id,
        GITHUB_SERVER_URL="https://github.com",
        RUNNER_TEMP=str(store.parent),
        GATEKEEPER_STORE=str(store),
        **env,
    )
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo.root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_github_workflow_validates(check_jsonschema: Tool) -> None:
    result = check_jsonschema.run("--builtin-schema", "vendor.github-workflows", str(WORKFLOW), cwd=WORKFLOW.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_github_step_records_the_job_s_outcome_once_per_run(tmp_path: Path) -> None:
    repo, commits = clone(tmp_path)
    store = tmp_path / "verdicts.db"
    first = run_github_step(repo, store, "success", "7001")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("recorded deployment ")
    assert "2 commits (2 issue keys: ABC-1, ABC-2)" in first.stdout
    again = run_github_step(repo, store, "success", "7001")  # the run re-run: the same deployment
    assert again.stdout.startswith("already recorded deployment ")
    failed = run_github_step(repo, store, "failure", "7002")
    assert failed.returncode == 0, failed.stderr
    assert deployments(store) == [
        ("acme/payments", "production", commits[1], "success", "7001"),
        ("acme/payments", "production", commits[1], "failure", "7002"),
    ]


def test_the_jenkinsfile_passes_npm_groovy_lint(groovy_lint: Tool) -> None:
    result = groovy_lint.run(
        "--noserver", "--failon", "warning", "--output", "json", JENKINSFILE.name, cwd=JENKINSFILE.parent
    )
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert [error for file in report["files"].values() for error in file["errors"]] == []
    assert result.returncode == 0, result.stderr


def test_the_jenkins_post_step_records_the_build_s_outcome(tmp_path: Path) -> None:
    text = JENKINSFILE.read_text(encoding="utf-8")
    [(first, rest)] = re.findall(r"sh '(gatekeeper deploy record [^']*)' \+\s*'([^']*)'", text)
    command = first + rest
    assert "GATEKEEPER_PROJECT = 'org/app'" in text and '--project "$GATEKEEPER_PROJECT"' in command
    assert "outcomes = [SUCCESS: 'success', FAILURE: 'failure']" in text
    repo, commits = clone(tmp_path)
    store = tmp_path / "verdicts.db"
    for build, status in (("41", "failure"), ("42", "success")):
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=repo.root,
            env=ci_environment(
                JENKINS_URL="https://jenkins.example.com/",
                JOB_NAME="payments/deploy",  # the deploy job: not the project the gate recorded verdicts under
                GATEKEEPER_PROJECT="payments/api",
                GIT_COMMIT=repo.head(),
                BUILD_NUMBER=build,
                BUILD_URL=f"https://jenkins.example.com/job/payments/job/deploy/{build}/",
                DEPLOY_ENVIRONMENT="production",
                DEPLOY_STATUS=status,
                GATEKEEPER_STORE=str(store),
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    assert deployments(store) == [
        ("payments/api", "production", commits[1], "failure", "41"),
        ("payments/api", "production", commits[1], "success", "42"),
    ]
    with sqlite3.connect(store) as db:
        urls = [row[0] for row in db.execute("SELECT url FROM deployments ORDER BY deployed_at")]
    assert urls == [f"https://jenkins.example.com/job/payments/job/deploy/{n}/" for n in (41, 42)]
