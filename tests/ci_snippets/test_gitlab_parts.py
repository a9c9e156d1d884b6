"""The GitLab parts template run for real (issue 18): gitlab-ci-local runs a `parallel: 3` test job that
extends `.gatekeeper-part` and records each shard's reports with `check --part test`, then the template's
final `gatekeeper` job decides on the three parts together — on a SQLite file every job shares (jobs run in
the repository's directory under gitlab-ci-local) and on a real store server over loopback.

Three shards cover 10 of 40 lines each (25 %, the average GitLab would show); together a.py 1-10 and
b.py 1-20: 30 of 40 (75 %), over the policy's 70 %.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ci_snippets.conftest import SNIPPETS, Tool, UploadServer, ci_environment
from tests.ci_snippets.test_gitlab import _documents
from tests.test_pipeline_cli import POLICY, cobertura, junit

TEMPLATE = SNIPPETS / "gitlab" / "gatekeeper-parts.gitlab-ci.yml"
#: gitlab-ci-local's last lines: " PASS  test: [1/3]", " FAIL  gatekeeper" (a job allowed to fail: WARN).
SUMMARY = re.compile(r"^ (PASS|WARN|FAIL) +(\S.*?)\s*$", re.MULTILINE)

PIPELINE = """include:
  - local: ci/gatekeeper-parts.gitlab-ci.yml
    inputs:
      policy: gatekeeper.yaml
      wait: "{wait}"
{more}
test:
  extends: .gatekeeper-part
  parallel: 3
  script:
    - gatekeeper check --part test "shards/$CI_NODE_INDEX/"
"""

SHARDS = {
    1: ({"src/a.py": range(1, 11)}, ["test_a1", "test_a2"]),
    2: ({"src/b.py": range(1, 11)}, ["test_b1"]),
    3: ({"src/b.py": range(11, 21)}, ["test_b2"]),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineRun:
    returncode: int
    output: str
    jobs: dict[str, str]  # job name -> PASS, WARN or FAIL
    repo: Path

    def verdict(self) -> dict[str, Any]:
        return dict(json.loads((self.repo / "gatekeeper-out" / "verdict.json").read_text(encoding="utf-8")))


def sample_repository(root: Path, *, shards: tuple[int, ...] = (1, 2, 3), wait: int = 60, more: str = "") -> Path:
    repo = root / "repo"
    for index in shards:
        covered, passing = SHARDS[index]
        (repo / "shards" / str(index)).mkdir(parents=True)
        (repo / "shards" / str(index) / "coverage.xml").write_text(cobertura(covered), encoding="utf-8")
        (repo / "shards" / str(index) / "junit.xml").write_text(junit(passing), encoding="utf-8")
    (repo / "gatekeeper.yaml").write_text(POLICY, encoding="utf-8")
    (repo / "ci").mkdir()
    shutil.copy(TEMPLATE, repo / "ci" / TEMPLATE.name)
    (repo / ".gitlab-ci.yml").write_text(PIPELINE.format(wait=wait, more=more), encoding="utf-8")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run([*git, *command], cwd=repo, check=True, capture_output=True, timeout=60)
    return repo


def run_pipeline(tool: Tool, repo: Path, *variables: str) -> PipelineRun:
    """The whole pipeline; --force-shell-executor: the final job names an image, here it runs in this shell
    with this test run's gatekeeper on PATH (so the template skips its pip install)."""
    result = tool.run(
        "--no-color",
        "--force-shell-executor",
        *(f"--variable={variable}" for variable in variables),
        cwd=repo,
        env=ci_environment(HOME=str(repo.parent)),
    )
    output = result.stdout + result.stderr
    return PipelineRun(
        returncode=result.returncode,
        output=output,
        jobs={name: status for status, name in SUMMARY.findall(output)},
        repo=repo,
    )


def check_decided(run: PipelineRun) -> dict[str, Any]:
    assert run.jobs == {"test: [1/3]": "PASS", "test: [2/3]": "PASS", "test: [3/3]": "PASS", "gatekeeper": "PASS"}, (
        run.output
    )
    verdict = run.verdict()
    assert verdict["status"] == "pass"
    assert verdict["context"]["ci"] == "gitlab"
    metrics = verdict["metrics"]
    assert (metrics["coverage.lines.covered"], metrics["coverage.lines.total"]) == (30, 40)
    assert (metrics["tests.total"], metrics["tests.passed"]) == (4, 4)
    assert [part["name"] for part in verdict["parts"]] == ["test 1/3", "test 2/3", "test 3/3"]
    assert "pipeline: 3 parts merged (3 expected): test 1/3, test 2/3, test 3/3" in run.output
    return verdict


def test_three_parallel_parts_and_a_final_gate_on_a_shared_store(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    repo = sample_repository(tmp_path, more='      parts: "3"')
    run = run_pipeline(gitlab_ci_local, repo)
    verdict = check_decided(run)
    assert verdict["pipeline"] == {"expected": 3, "missing": []}
    assert (repo / "gatekeeper-out" / "gate.md").read_text(encoding="utf-8").count("`test ") == 3


def test_a_failed_part_job_leaves_the_final_gate_undecided_naming_it(gitlab_ci_local: Tool, tmp_path: Path) -> None:
    """Shard 3's reports are missing: its part job fails (exit 2), and the final job, run all the same,
    waits its 2 seconds and fails undecided, naming `test 3/3` (the parts' names say there are 3)."""
    repo = sample_repository(tmp_path, shards=(1, 2), wait=2)
    run = run_pipeline(gitlab_ci_local, repo)
    assert run.jobs["test: [3/3]"] == "FAIL" and run.jobs["gatekeeper"] == "FAIL", run.output
    assert "2 of 3 parts arrived; missing: test 3/3" in run.output
    verdict = run.verdict()
    assert verdict["status"] == "error"
    assert verdict["pipeline"] == {"expected": 3, "missing": ["test 3/3"]}


def test_the_parts_meet_on_a_real_store_server(
    gitlab_ci_local: Tool, tmp_path: Path, upload_server: UploadServer
) -> None:
    """`store-url` plus an upload token as GATEKEEPER_TOKEN: the parts and the verdict go to the server."""
    repo = sample_repository(tmp_path, more=f"      store-url: {upload_server.url}")
    run = run_pipeline(gitlab_ci_local, repo, f"GATEKEEPER_TOKEN={upload_server.token}")
    stored = upload_server.server.stored_ids()
    verdict = check_decided(run)
    assert stored == [verdict["id"]]
    # The final job keeps its verdict in its embedded store too, as `check` does; the parts went to the server.
    with sqlite3.connect(repo / ".gatekeeper" / "verdicts.db") as db:
        assert db.execute("SELECT count(*) FROM parts").fetchone() == (0,)


def test_the_template_validates_against_gitlab_ci_schema(check_jsonschema: Tool, tmp_path: Path) -> None:
    header, body = _documents(TEMPLATE)
    (tmp_path / "spec.yml").write_text(header + "\n", encoding="utf-8")
    (tmp_path / "job.yml").write_text(body, encoding="utf-8")
    result = check_jsonschema.run("--builtin-schema", "vendor.gitlab-ci", "spec.yml", "job.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
