"""Override by id merges (issue 14, item 4): a gate that reuses an inherited id changes only the keys it
states, `null` removes an inherited key, and `rules show` says where each key of the effective gate came
from.  And the policy package's values (item 3): packs named by their bundled name, problems as
`Problem`s in the order of the files and their lines, the verdict's operators as one enum.

The user's case is the pack's own advice: "raise it in your own policy by overriding this id" — before,
the override replaced the whole gate, so the criterion vanished from the verdict and an absent coverage
report turned from a warning into a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.errors import PolicyError
from gatekeeper.policy import (
    Comparison,
    Condition,
    Gate,
    GateSeverity,
    IfAbsent,
    Operator,
    PolicyProblems,
    Problem,
    Ratchet,
    load_policy,
    resource_path,
)
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
PACK = resource_path("rules", "caict-cd", "level-3.yaml")
JUNIT = '<testsuite><testcase classname="a" name="b"/></testsuite>\n'


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GATEKEEPER_", "CI", "GITHUB_", "GITLAB"))}
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def team(tmp_path: Path, gates: str, extends: str = "caict-cd/level-3") -> Path:
    """A team policy extending `extends` whose gates (YAML list items) start on line 4."""
    path = tmp_path / "team.yaml"
    path.write_text(f"policy: team\nextends: {extends}\ngates:\n{gates}", encoding="utf-8")
    return path


def gate_of(path: Path, gate_id: str) -> Gate:
    return next(gate for gate in load_policy(path).gates if gate.id == gate_id)


def line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if fragment in line)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    return raised.value.problems


# --- merging ---------------------------------------------------------------------------------------


def test_raising_one_threshold_keeps_the_criterion_if_absent_and_the_rest(tmp_path: Path) -> None:
    path = team(tmp_path, "  - id: line-coverage\n    min: 80\n")
    pack = gate_of(PACK, "line-coverage")
    gate = gate_of(path, "line-coverage")
    assert gate.condition == Comparison(metric="coverage.lines.percent", min=80)
    assert pack.if_absent is IfAbsent.WARN and pack.criterion  # what the override used to lose
    kept = ("criterion", "description", "if_absent", "severity", "branches", "locked")
    assert {key: getattr(gate, key) for key in kept} == {key: getattr(pack, key) for key in kept}
    assert gate.source == f"{path}:4"  # the effective gate is defined where the override is
    ids = [g.id for g in load_policy(path).gates]
    assert ids == [g.id for g in load_policy(PACK).gates]  # overridden in place


def test_the_verdict_keeps_the_pack_criterion_and_an_absent_report_still_warns(tmp_path: Path) -> None:
    """End to end: `check` with test results and no coverage report, on a feature branch."""
    team(tmp_path, "  - id: line-coverage\n    min: 80\n")
    (tmp_path / "TEST-a.xml").write_text(JUNIT, encoding="utf-8")
    result = gatekeeper(
        "check", "--policy", "team.yaml", "--no-store", "--branch", "feature/x", "--format", "json", "TEST-a.xml",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    (record,) = [gate for gate in json.loads(result.stdout)["gates"] if gate["id"] == "line-coverage"]
    assert record["criterion"] == gate_of(PACK, "line-coverage").criterion
    assert record["status"] == "warn", record["message"]  # if_absent: warn, from the pack
    assert record["message"].endswith("(if_absent: warn)")


def test_null_removes_an_inherited_key(tmp_path: Path) -> None:
    path = team(
        tmp_path,
        "  - id: deploy-branch-evidence\n    when: null\n"
        "  - id: line-coverage\n    criterion: null\n    if_absent: null\n",
    )
    pack_deploy = gate_of(PACK, "deploy-branch-evidence")
    deploy = gate_of(path, "deploy-branch-evidence")
    assert pack_deploy.branches and deploy.branches == ()  # every branch again
    assert deploy.condition == pack_deploy.condition and deploy.criterion == pack_deploy.criterion
    line = gate_of(path, "line-coverage")
    assert (line.criterion, line.if_absent) == ("", IfAbsent.FAIL)  # the defaults again
    assert line.condition == gate_of(PACK, "line-coverage").condition


LINES = "coverage.lines.percent"


@pytest.mark.parametrize(
    ("gates", "gate_id", "condition"),
    [
        # `equals` cannot stand beside the inherited `min`: it replaces it, the metric stays
        ("  - id: line-coverage\n    equals: 100\n", "line-coverage", Comparison(metric=LINES, equals=100)),
        # a ratchet replaces the bound
        (
            "  - id: line-coverage\n    max_decrease: 0.5\n",
            "line-coverage",
            Ratchet(metric="coverage.lines.percent", operator=Operator.MAX_DECREASE, allowed=0.5),
        ),
        # a metric with its threshold replaces an inherited group
        ("  - id: deploy-branch-evidence\n    metric: tests.total\n    min: 1\n", "deploy-branch-evidence",
         Comparison(metric="tests.total", min=1)),
        # `max` beside the inherited `min` makes a range
        ("  - id: line-coverage\n    max: 90\n", "line-coverage", Comparison(metric=LINES, min=50, max=90)),
    ],
    ids=["equals-replaces-min", "ratchet-replaces-min", "metric-replaces-group", "max-beside-min"],
)  # fmt: skip
def test_a_stated_condition_key_replaces_what_it_cannot_stand_beside(
    tmp_path: Path, gates: str, gate_id: str, condition: Condition
) -> None:
    gate = gate_of(team(tmp_path, gates), gate_id)
    assert gate.condition == condition
    assert gate.criterion == gate_of(PACK, gate_id).criterion


def test_an_override_that_leaves_no_threshold_says_so_at_the_override(tmp_path: Path) -> None:
    path = team(tmp_path, "  - id: line-coverage\n    min: null\n")
    assert problems_of(path) == [
        f"{path}:4:5: gates.0: metric 'coverage.lines.percent' needs a threshold: "
        "'min', 'max', 'equals', 'max_decrease' or 'max_increase'"
    ]


def test_a_new_gate_still_needs_a_whole_condition(tmp_path: Path) -> None:
    path = team(tmp_path, "  - id: brand-new\n    min: 80\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:4:5: gates.0: a gate needs a condition: 'metric' with a threshold")


def test_a_merged_range_that_holds_nothing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text(
        "policy: parent\ngates:\n  - {id: cov, metric: coverage.lines.percent, min: 50, max: 90}\n", encoding="utf-8"
    )
    path = team(tmp_path, "  - id: cov\n    min: 95\n", extends="parent.yaml")
    assert problems_of(path) == [f"{path}:5:10: gates.0.min: min 95 is above max 90"]


def test_null_is_only_for_inherited_keys_of_a_gate(tmp_path: Path) -> None:
    """A nested condition, a waiver and the policy's own keys take no null: there is nothing to remove."""
    path = tmp_path / "p.yaml"
    path.write_text("policy: p\ngates:\n  - id: g\n    all:\n      - {metric: tests.total, min: null}\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:5:36: gates.0.all.0.min: None is not a number")


# --- rules show: where each key came from ----------------------------------------------------------


def test_rules_show_says_where_each_key_of_a_merged_gate_came_from(tmp_path: Path) -> None:
    team(tmp_path, "  - id: line-coverage\n    min: 80\n    severity: warn\n")
    result = gatekeeper("rules", "show", "team.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    at = lines.index("- id: line-coverage")
    pack_line = line_of(PACK, "- id: line-coverage")
    assert lines[at - 1] == (
        f"# line-coverage: id, criterion, description, metric, if_absent from caict-cd/level-3:{pack_line}; "
        "min, severity from team.yaml:4"
    )
    # A gate only inherited names its pack, and the keys no file states are said to be defaults.
    tests_present = lines[lines.index("- id: tests-present") - 1]
    assert tests_present.startswith("# tests-present: ") and "from caict-cd/level-1:" in tests_present
    assert tests_present.endswith("; severity by default")
    # The comments do not change what the output is: a policy with the same digest.
    (tmp_path / "shown.yaml").write_text(result.stdout, encoding="utf-8")
    assert load_policy(tmp_path / "shown.yaml").digest == load_policy(tmp_path / "team.yaml").digest


# --- packs by name, problems as data ---------------------------------------------------------------


def test_a_pack_is_named_by_its_name_never_by_where_it_is_installed(tmp_path: Path) -> None:
    gates = "  - id: no-critical-or-high-findings\n    enabled: false\n"
    team(tmp_path, gates + "  - id: tests\n    metric: tests.total\n    min: 1\n    sevrity: warn\n")
    result = gatekeeper("rules", "validate", "team.yaml", cwd=tmp_path)
    assert result.returncode == 2
    locked_at = line_of(PACK, "- id: no-critical-or-high-findings")
    # Both problems in one pass: the locked gate beside the file's own mistake.
    assert result.stderr.splitlines() == [
        f"gatekeeper: error: team.yaml:5:5: gate 'no-critical-or-high-findings' is locked by "
        f"caict-cd/level-3:{locked_at} and cannot be switched off",
        "gatekeeper: error: team.yaml:9:5: gates.1: unknown key 'sevrity' (did you mean 'severity'?)",
    ]
    shown = gatekeeper("rules", "show", str(PACK), cwd=tmp_path)
    assert str(resource_path("rules")) not in shown.stdout + result.stderr
    assert "#   caict-cd/level-3\n#   caict-cd/level-2\n#   caict-cd/level-1\n" in shown.stdout


def test_problems_are_values_in_the_order_of_the_files_and_their_lines(tmp_path: Path) -> None:
    """The file given first, then the files it extends in chain order; in each, line then column — as
    numbers, whatever the file's name holds (a name such as 'a:9:9: b.yaml' once confused the parsing)."""
    parent = tmp_path / "a:9:9: b.yaml"
    parent.write_text("policy: parent\ngates:\n  - {id: p, metric: tests.totl, min: 1}\n", encoding="utf-8")
    child = team(
        tmp_path,
        "  - {id: c2, metric: tests.total, mni: 1}\n"
        + "\n" * 6
        + "  - {id: c1, metric: tests.failed, min: 5, max: 1, x: 1}\n",
        extends="'a:9:9: b.yaml'",
    )
    with pytest.raises(PolicyProblems) as raised:
        load_policy(child)
    found = raised.value.found
    assert [(p.file, p.line) for p in found] == [
        (str(child), 4),
        (str(child), 4),
        (str(child), 11),
        (str(child), 11),
        (str(parent), 3),
    ]
    assert found[0].column < found[1].column
    assert raised.value.problems == [str(problem) for problem in found]
    assert str(Problem("f.yaml", 3, 7, "what")) == "f.yaml:3:7: what"
    assert str(Problem("f.yaml", 0, 0, "too large")) == "f.yaml: too large"


def test_the_operator_enum_is_every_operator_a_verdict_records() -> None:
    schema = json.loads((REPO / "schemas" / "verdict.schema.json").read_text(encoding="utf-8"))
    gate = next(d for d in schema["$defs"].values() if "operator" in d.get("properties", {}))
    assert {op.value for op in Operator} | {""} == set(gate["properties"]["operator"]["enum"])


def test_a_gate_skipped_by_branch_records_no_operator() -> None:
    from gatekeeper.engine import evaluate_gate

    gate = Gate(id="g", condition=Comparison(metric="tests.total", min=1), branches=("main",))
    assert evaluate_gate(gate, {"tests.total": 3}, "feature").operator is None
    assert evaluate_gate(gate, {"tests.total": 3}, "main").operator is Operator.AT_LEAST
    assert GateSeverity.BLOCK is gate.severity
