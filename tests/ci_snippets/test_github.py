"""The GitHub composite action and example workflow: both validated with check-jsonschema's built-in GitHub
schemas, and the action's shell steps run as the runner would run them (inputs substituted, GitHub's
environment variables and files set, `bash --noprofile --norc -eo pipefail`) against the real gatekeeper."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_snippets.conftest import EXAMPLES, REPORTS, SNIPPETS, Tool, ci_environment
from tests.conftest import REPO

GITHUB = SNIPPETS / "github"
ACTION = GITHUB / "action.yml"
INPUT = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")

POLICY_WITH_A_WARNING = """policy: github-test
gates:
  - id: tests-all-pass
    metric: tests.pass_percent
    min: 100
  - id: many-tests
    criterion: "a large suite, 100% automated: always"
    metric: tests.total
    min: 1000
    severity: warn
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRun:
    """What the action's steps left: the last step's exit code, the workflow commands, outputs and summary."""

    returncode: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    path_additions: str

    @property
    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(("::error", "::warning"))]


def substitute(text: str, inputs: dict[str, str]) -> str:
    """`${{ inputs.NAME }}` as the runner evaluates it; any other expression in a step is a test failure."""
    result = INPUT.sub(lambda match: inputs[match.group(1)], text)
    assert "${{" not in result, f"an expression this test does not evaluate: {result}"
    return result


def run_action(workspace: Path, given: dict[str, str]) -> ActionRun:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    inputs.update(given)
    files = workspace.parent / "runner"
    files.mkdir()
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "acme/payments",
        "GITHUB_SHA": "0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5",
        "GITHUB_REF_NAME": "feature/gate",
        "GITHUB_REF": "refs/heads/feature/gate",
        "GITHUB_RUN_ID": "7781234567",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "test",
        "GITHUB_WORKFLOW": "CI",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_ACTION_PATH": str(GITHUB),
        "RUNNER_TEMP": str(files / "temp"),
    }
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_ENV"):
        github[name] = str(files / name.lower())
        (files / name.lower()).touch()
    (files / "temp").mkdir()
    assert action["runs"]["using"] == "composite"
    stdout = ""
    returncode = 0
    for number, step in enumerate(action["runs"]["steps"]):
        assert step["shell"] == "bash"
        script = files / f"step-{number}.sh"
        script.write_text(substitute(step["run"], inputs), encoding="utf-8")
        environment = ci_environment(**github)
        environment.update({key: substitute(str(value), inputs) for key, value in step.get("env", {}).items()})
        process = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        stdout += process.stdout
        returncode = process.returncode
        if returncode != 0:
            break
    outputs = dict(
        line.split("=", 1) for line in (files / "github_output").read_text(encoding="utf-8").splitlines() if line
    )
    return ActionRun(
        returncode=returncode,
        stdout=stdout,
        outputs=outputs,
        summary=(files / "github_step_summary").read_text(encoding="utf-8"),
        path_additions=(files / "github_path").read_text(encoding="utf-8"),
    )


def workspace_with(tmp_path: Path, project: str, policy: str) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / "reports").mkdir(parents=True)
    for name in REPORTS:
        shutil.copy(EXAMPLES / project / "reports" / name, workspace / "reports" / name)
    (workspace / "gatekeeper.yaml").write_text(policy, encoding="utf-8")
    return workspace


def reports_input() -> str:
    return " ".join(f"reports/{name}" for name in REPORTS)


def verdict_of(workspace: Path, run: ActionRun) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((workspace / run.outputs["verdict-path"]).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("schema", "name"),
    [("vendor.github-actions", "action.yml"), ("vendor.github-workflows", "workflow.yml")],
)
def test_action_and_workflow_validate_against_githubs_schemas(check_jsonschema: Tool, schema: str, name: str) -> None:
    result = check_jsonschema.run("--builtin-schema", schema, name, cwd=GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_example_workflow_uses_the_action_after_the_tests() -> None:
    workflow = yaml.safe_load((GITHUB / "workflow.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["test"]["steps"]
    gate = next(index for index, step in enumerate(steps) if step.get("uses") == "./.github/actions/gatekeeper")
    assert any("pytest" in step.get("run", "") for step in steps[:gate])
    action_inputs = set(yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"])
    assert set(steps[gate]["with"]) <= action_inputs


def test_failing_example_fails_the_step_with_an_error_per_failed_gate(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path, "failing", (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8"))
    run = run_action(workspace, {"reports": reports_input()})
    assert run.returncode == 1
    assert run.outputs["status"] == "fail"
    assert run.outputs["exit-code"] == "1"
    assert run.outputs["verdict-path"] == "gatekeeper-out/verdict.json"
    verdict = verdict_of(workspace, run)
    assert verdict["context"]["ci"] == "github"
    assert (verdict["context"]["project"], verdict["context"]["branch"]) == ("acme/payments", "feature/gate")
    assert verdict["context"]["commit"] == "0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5"
    errors = [line for line in run.annotations if line.startswith("::error")]
    warnings = [line for line in run.annotations if line.startswith("::warning")]
    assert [line.split("::")[1] for line in errors] == [
        "error file=gatekeeper.yaml,title=quality gate tests-all-pass failed",
        "error file=gatekeeper.yaml,title=quality gate no-critical-or-high-findings failed",
    ]
    assert errors[0].endswith("::test pass rate 91.9% < 100% (34 of 37 tests that ran passed)".replace("%", "%25"))
    assert [line.split("::")[1] for line in warnings] == [
        "warning file=gatekeeper.yaml,title=quality gate few-medium-findings warns"
    ]
    assert run.summary == (workspace / "gatekeeper-out" / "gate.md").read_text(encoding="utf-8")
    assert "tests-all-pass" in run.summary
    assert run.path_additions == ""  # gatekeeper was on PATH: nothing installed


def test_passing_example_passes_without_annotations(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path, "passing", (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8"))
    run = run_action(workspace, {"reports": reports_input()})
    assert (run.returncode, run.outputs["status"], run.outputs["exit-code"]) == (0, "pass", "0")
    assert run.annotations == []
    assert verdict_of(workspace, run)["status"] == "pass"
    assert run.summary.strip()


def test_a_warning_passes_with_an_escaped_warning_annotation(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path, "passing", POLICY_WITH_A_WARNING)
    run = run_action(workspace, {"reports": "reports/junit.xml", "output-dir": "out dir"})
    assert (run.returncode, run.outputs["status"]) == (0, "warn")
    assert run.outputs["verdict-path"] == "out dir/verdict.json"
    assert run.annotations == [
        "::warning file=gatekeeper.yaml,title=quality gate many-tests warns::"
        "tests 31 < 1,000 (criterion: a large suite, 100%25 automated: always)"
    ]


def test_a_missing_report_fails_the_step_saying_the_gate_could_not_decide(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path, "passing", (REPO / "rules" / "starter.yaml").read_text(encoding="utf-8"))
    run = run_action(workspace, {"reports": "reports/no-such-file.xml"})
    assert (run.returncode, run.outputs["status"], run.outputs["exit-code"]) == (2, "error", "2")
    assert run.annotations[0].startswith("::error title=gatekeeper could not decide::")
    assert "no-such-file.xml" in run.annotations[0]
