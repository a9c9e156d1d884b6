"""The GitHub parts shape (issue 18): parts-workflow.yml validated with check-jsonschema and read for its
shape (a matrix job recording `test N/3`, a gate job after it that runs even when a shard failed), and
the composite action run as the runner would, three times with `part` and once with `pipeline-final`,
against a real store server on loopback (matrix jobs run on different runners: the parts meet there).

The three shards cover 10 of 40 lines each; merged, 30 of 40 (75 %, over the policy's 70 %).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.ci_snippets.conftest import Tool, UploadServer
from tests.ci_snippets.test_github import ACTION, GITHUB, run_action
from tests.ci_snippets.test_gitlab_parts import SHARDS
from tests.test_pipeline_cli import POLICY, cobertura, junit

WORKFLOW = GITHUB / "parts-workflow.yml"


def test_the_parts_workflow_validates_against_githubs_schema(check_jsonschema: Tool) -> None:
    result = check_jsonschema.run("--builtin-schema", "vendor.github-workflows", WORKFLOW.name, cwd=GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr
    result = check_jsonschema.run("--builtin-schema", "vendor.github-actions", ACTION.name, cwd=GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_parts_workflow_has_a_matrix_of_parts_and_a_gate_after_them() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    inputs = set(yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"])
    test, gate = workflow["jobs"]["test"], workflow["jobs"]["gate"]
    assert test["strategy"]["matrix"]["shard"] == [1, 2, 3] and test["strategy"]["fail-fast"] is False
    record = next(step for step in test["steps"] if step.get("uses") == "./.github/actions/gatekeeper")
    assert record["with"]["part"] == "test ${{ matrix.shard }}/3" and set(record["with"]) <= inputs
    assert (gate["needs"], gate["if"]) == ("test", "always()")
    decide = next(step for step in gate["steps"] if step.get("uses") == "./.github/actions/gatekeeper")
    assert decide["with"]["pipeline-final"] == "true" and set(decide["with"]) <= inputs


def _workspace(root: Path, shard: int | None) -> Path:
    """A runner's fresh checkout: the policy, and for a matrix job its shard's reports in build/."""
    workspace = root / "workspace"
    (workspace / "build").mkdir(parents=True)
    (workspace / "gatekeeper.yaml").write_text(POLICY, encoding="utf-8")
    if shard is not None:
        covered, passing = SHARDS[shard]
        (workspace / "build" / "coverage.xml").write_text(cobertura(covered), encoding="utf-8")
        (workspace / "build" / "junit.xml").write_text(junit(passing), encoding="utf-8")
    return workspace


def test_matrix_parts_and_the_gate_job_on_a_real_store_server(tmp_path: Path, upload_server: UploadServer) -> None:
    store = {"store-url": upload_server.url, "token": upload_server.token}
    for shard in (1, 2, 3):
        workspace = _workspace(tmp_path / f"shard-{shard}", shard)
        given = {"part": f"test {shard}/3", "reports": "build/junit.xml build/coverage.xml", **store}
        run = run_action(workspace, given)
        assert (run.returncode, run.outputs["status"], run.outputs["exit-code"]) == (0, "recorded", "0"), run
        assert f"part 'test {shard}/3' of pipeline '7781234567' (acme/payments) recorded" in run.stdout
    workspace = _workspace(tmp_path / "gate", None)
    run = run_action(workspace, {"pipeline-final": "true", "expect-parts": "3", "wait": "10", **store})
    stored = upload_server.server.stored_ids()
    assert (run.returncode, run.outputs["status"]) == (0, "pass"), run
    verdict: dict[str, Any] = json.loads((workspace / run.outputs["verdict-path"]).read_text(encoding="utf-8"))
    assert stored == [verdict["id"]]
    assert verdict["context"]["pipeline"] == "7781234567"
    assert [part["name"] for part in verdict["parts"]] == ["test 1/3", "test 2/3", "test 3/3"]
    assert (verdict["metrics"]["coverage.lines.covered"], verdict["metrics"]["coverage.lines.total"]) == (30, 40)
    assert "**Pipeline:** 3 parts merged (3 expected): `test 1/3`, `test 2/3`, `test 3/3`" in run.summary


def test_the_gate_job_without_its_parts_fails_undecided(tmp_path: Path) -> None:
    """No part recorded (in the embedded store here) and 3 expected: exit 2, an error annotation naming why."""
    workspace = _workspace(tmp_path / "gate", None)
    run = run_action(workspace, {"pipeline-final": "true", "expect-parts": "3", "wait": "0"})
    assert (run.returncode, run.outputs["status"], run.outputs["exit-code"]) == (2, "error", "2"), run
    assert any("no part of this pipeline arrived (of 3 parts expected)" in line for line in run.annotations), run
