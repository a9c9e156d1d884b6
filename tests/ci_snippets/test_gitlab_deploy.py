"""The GitLab deployment template run for real (issue 19): gitlab-ci-local runs two deployment jobs that
extend `.gatekeeper-deploy`, one that succeeds (production) and one whose script fails (staging); their
after_script records each with its environment, commit, pipeline and outcome, in the embedded store the
jobs share (they run in the repository's directory under gitlab-ci-local) or on a real store server."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.ci_snippets.conftest import SNIPPETS, Tool, UploadServer, ci_environment
from tests.ci_snippets.test_gitlab import _documents

TEMPLATE = SNIPPETS / "gitlab" / "gatekeeper-deploy.gitlab-ci.yml"
SUMMARY = re.compile(r"^ (PASS|WARN|FAIL) +(\S.*?)\s*$", re.MULTILINE)

PIPELINE = """include:
  - local: ci/gatekeeper-deploy.gitlab-ci.yml
{inputs}
deploy-prod:
  extends: .gatekeeper-deploy
  environment: production
  script:
    - echo deploying

deploy-staging:
  extends: .gatekeeper-deploy
  environment: staging
  script:
    - exit 1
"""


def sample_repository(root: Path, inputs: str = "") -> tuple[Path, list[str]]:
    repo = root / "repo"
    (repo / "ci").mkdir(parents=True)
    shutil.copy(TEMPLATE, repo / "ci" / TEMPLATE.name)
    (repo / ".gitlab-ci.yml").write_text(PIPELINE.format(inputs=inputs), encoding="utf-8")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True, capture_output=True, timeout=60)
    commits = []
    for message in ("ABC-1 the pipeline", "ABC-2 the service"):
        (repo / f"{message.split()[0]}.txt").write_text(message, encoding="utf-8")
        subprocess.run([*git, "add", "-A"], cwd=repo, check=True, capture_output=True, timeout=60)
        subprocess.run([*git, "commit", "-q", "-m", message], cwd=repo, check=True, capture_output=True, timeout=60)
        commits.append(
            subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
        )
    return repo, commits


def run_pipeline(tool: Tool, repo: Path, *variables: str) -> tuple[dict[str, str], str]:
    result = tool.run(
        "--no-color",
        "--force-shell-executor",
        *(f"--variable={variable}" for variable in variables),
        cwd=repo,
        env=ci_environment(HOME=str(repo.parent)),
    )
    output = result.stdout + result.stderr
    return {name: status for status, name in SUMMARY.findall(output)}, output


def test_each_deployment_job_records_its_outcome_in_the_embedded_store(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    repo, commits = sample_repository(tmp_path)
    jobs, output = run_pipeline(gitlab_ci_local, repo)
    assert jobs == {"deploy-prod": "PASS", "deploy-staging": "FAIL"}, output
    with sqlite3.connect(repo / ".gatekeeper" / "verdicts.db") as db:
        rows = db.execute(
            'SELECT environment, status, "commit", project FROM deployments ORDER BY environment'
        ).fetchall()
        shipped = db.execute(
            "SELECT d.environment, c.sha, c.keys FROM deployment_commits c JOIN deployments d ON d.id = c.deployment_id"
            " ORDER BY d.environment, c.keys"
        ).fetchall()
    assert [(environment, status, commit) for environment, status, commit, _ in rows] == [
        ("production", "success", commits[1]),
        ("staging", "failure", commits[1]),
    ]
    assert rows[0][3]  # the project gitlab-ci-local names (CI_PROJECT_PATH)
    # Both environments' first deployment: the whole (two-commit) history, with their issue keys.
    assert shipped == [
        ("production", commits[0], "ABC-1"),
        ("production", commits[1], "ABC-2"),
        ("staging", commits[0], "ABC-1"),
        ("staging", commits[1], "ABC-2"),
    ]
    assert "recorded deployment" in output


def test_the_deployments_are_recorded_on_a_real_store_server(
    gitlab_ci_local: Tool, tmp_path: Path, upload_server: UploadServer
) -> None:
    repo, commits = sample_repository(tmp_path, f"    inputs:\n      store-url: {upload_server.url}")
    jobs, output = run_pipeline(gitlab_ci_local, repo, f"GATEKEEPER_TOKEN={upload_server.token}")
    with sqlite3.connect(upload_server.server.db_file) as db:
        rows = db.execute('SELECT environment, status, "commit" FROM deployments ORDER BY environment').fetchall()
    assert jobs == {"deploy-prod": "PASS", "deploy-staging": "FAIL"}, output
    assert rows == [("production", "success", commits[1]), ("staging", "failure", commits[1])]
    assert not (repo / ".gatekeeper" / "verdicts.db").exists()


def test_the_template_validates_against_gitlab_ci_schema(check_jsonschema: Tool, tmp_path: Path) -> None:
    header, body = _documents(TEMPLATE)
    (tmp_path / "spec.yml").write_text(header + "\n", encoding="utf-8")
    (tmp_path / "job.yml").write_text(body, encoding="utf-8")
    result = check_jsonschema.run("--builtin-schema", "vendor.gitlab-ci", "spec.yml", "job.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
