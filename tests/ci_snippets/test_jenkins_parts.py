"""The Jenkins parts shape (issue 18): Jenkinsfile.parallel and the step linted with npm-groovy-lint, and
the step's script run as three parallel stages would run it (`GATEKEEPER_PART`, each writing its result to
a directory of its own, in the workspace they share) and then as the final stage (`GATEKEEPER_PIPELINE_FINAL`),
with Jenkins' variables set and the real gatekeeper.

The three shards cover 10 of 40 lines each; merged, 30 of 40 (75 %, over the policy's 70 %).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.ci_snippets.conftest import Tool, ci_environment
from tests.ci_snippets.test_gitlab_parts import SHARDS
from tests.ci_snippets.test_jenkins import JENKINS, STEP, StepRun
from tests.test_pipeline_cli import POLICY, cobertura, junit

#: What Jenkins sets in every stage of build 57 of the job `bank/ledger`.
BUILD = {"JENKINS_URL": "https://jenkins.example.com/", "JOB_NAME": "bank/ledger", "BUILD_NUMBER": "57"}


def test_parallel_jenkinsfile_and_step_pass_npm_groovy_lint(groovy_lint: Tool) -> None:
    result = groovy_lint.run(
        "--noserver", "--failon", "warning", "--output", "json", "Jenkinsfile.parallel", "vars/gatekeeper.groovy",
        cwd=JENKINS,
    )  # fmt: skip
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["summary"]["totalFilesLinted"] == 2
    assert [error for file in report["files"].values() for error in file["errors"]] == []
    assert result.returncode == 0, result.stderr


def test_the_parallel_jenkinsfile_records_parts_and_decides_in_a_last_stage() -> None:
    text = (JENKINS / "Jenkinsfile.parallel").read_text(encoding="utf-8")
    assert text.count("shard(") == 3 + 1  # three stages and the method
    assert 'part: "test ${index}/3"' in text
    assert "pipelineFinal: true, expectParts: 3" in text
    assert text.index("parallel {") < text.index("stage('Quality gate')")


def run_stage(workspace: Path, out: str, *args: str, **env: str) -> StepRun:
    process = subprocess.run(
        ["bash", str(STEP), *args],
        cwd=workspace,
        env=ci_environment(
            GATEKEEPER_POLICY="gatekeeper.yaml",
            GATEKEEPER_OUT=out,
            GATEKEEPER_STORE=str(workspace / ".gatekeeper" / "verdicts.db"),
            **BUILD,
            **env,
        ),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result, message = (workspace / out / "result").read_text(encoding="utf-8").splitlines()
    return StepRun(
        returncode=process.returncode,
        output=process.stdout + process.stderr,
        result=result,
        message=message,
        out=workspace / out,
    )


def workspace_with(root: Path, shards: tuple[int, ...]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "gatekeeper.yaml").write_text(POLICY, encoding="utf-8")
    for index in shards:
        covered, passing = SHARDS[index]
        (root / "build" / f"shard-{index}").mkdir(parents=True)
        (root / "build" / f"shard-{index}" / "coverage.xml").write_text(cobertura(covered), encoding="utf-8")
        (root / "build" / f"shard-{index}" / "junit.xml").write_text(junit(passing), encoding="utf-8")
    return root


def record_shards(workspace: Path, shards: tuple[int, ...]) -> None:
    for index in shards:
        run = run_stage(
            workspace,
            f"gatekeeper-out/part-test_{index}_3",
            f"build/shard-{index}/junit.xml",
            f"build/shard-{index}/coverage.xml",
            STAGE_NAME=f"Shard {index}",
            GATEKEEPER_PART=f"test {index}/3",
        )
        assert (run.returncode, run.result) == (0, "SUCCESS"), run.output
        assert run.message == f"part test {index}/3 recorded: the final stage decides on every part"
        assert f"part 'test {index}/3' of pipeline '57' (bank/ledger) recorded" in run.output


def test_parallel_stages_record_parts_and_the_last_stage_decides(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "workspace", (1, 2, 3))
    record_shards(workspace, (1, 2, 3))
    run = run_stage(
        workspace,
        "gatekeeper-out",
        STAGE_NAME="Quality gate",
        GATEKEEPER_PIPELINE_FINAL="true",
        GATEKEEPER_EXPECT_PARTS="3",
        GATEKEEPER_WAIT="10",
    )
    assert (run.returncode, run.result) == (0, "SUCCESS"), run.output
    verdict = run.verdict()
    assert (verdict["context"]["ci"], verdict["context"]["pipeline"]) == ("jenkins", "57")
    assert [part["name"] for part in verdict["parts"]] == ["test 1/3", "test 2/3", "test 3/3"]
    assert (verdict["metrics"]["coverage.lines.covered"], verdict["metrics"]["coverage.lines.total"]) == (30, 40)
    assert run.junit_failures() == 0


def test_a_part_missing_at_the_last_stage_is_failure_naming_it(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "workspace", (1, 2))
    record_shards(workspace, (1, 2))
    run = run_stage(
        workspace,
        "gatekeeper-out",
        STAGE_NAME="Quality gate",
        GATEKEEPER_PIPELINE_FINAL="true",
        GATEKEEPER_EXPECT_PARTS="3",
        GATEKEEPER_WAIT="1",
    )
    assert run.result == "FAILURE", run.output
    assert run.message.startswith("quality gate could not decide")
    assert "2 of 3 parts arrived; missing: test 3/3" in run.message
    assert run.verdict()["pipeline"] == {"expected": 3, "missing": ["test 3/3"]}


def test_a_part_whose_report_is_missing_is_failure(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "workspace", ())
    run = run_stage(workspace, "gatekeeper-out/part", "build/none.xml", GATEKEEPER_PART="test 1/3")
    assert run.result == "FAILURE", run.output
    assert run.message.startswith("part test 1/3 not recorded")
    assert "build/none.xml" in run.output
