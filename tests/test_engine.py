"""The engine: pure gate evaluation over metric dicts, and one decision with its reason.

No files, no clock, no environment: every input is built here.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.context import Context
from gatekeeper.engine import (
    Decision,
    GateStatus,
    applies,
    decide,
    evaluate_gate,
    format_number,
    format_threshold,
)
from gatekeeper.model import Evidence, Finding, Severity, TestResults
from gatekeeper.policy import Comparison, Condition, Gate, GateSeverity, Group, IfAbsent, Operator, Policy

TODAY = date(2026, 3, 15)
COVERAGE = {
    "coverage.lines.covered": 1203.0,
    "coverage.lines.total": 1685.0,
    "coverage.lines.percent": 1203 * 100 / 1685,
}


def gate(
    condition: Condition,
    *,
    id: str = "g",
    severity: GateSeverity = GateSeverity.BLOCK,
    if_absent: IfAbsent = IfAbsent.FAIL,
    branches: tuple[str, ...] = (),
) -> Gate:
    return Gate(
        id=id,
        condition=condition,
        severity=severity,
        if_absent=if_absent,
        branches=branches,
        criterion=f"criterion of {id}",
    )


def leaf(metric: str, **bounds: float) -> Comparison:
    return Comparison(metric=metric, **bounds)


# --- comparisons and their messages ----------------------------------------------------------------


def test_min_fails_with_the_counts_behind_a_percentage() -> None:
    result = evaluate_gate(gate(leaf("coverage.lines.percent", min=80)), COVERAGE, None)
    assert result.status is GateStatus.FAIL
    assert result.message == "line coverage 71.4% < 80% (1,203 of 1,685 lines)"
    assert (result.metric, result.operator, result.threshold) == ("coverage.lines.percent", ">=", 80)
    assert result.actual == pytest.approx(71.394658)
    assert result.criterion == "criterion of g"


def test_min_holds() -> None:
    result = evaluate_gate(gate(leaf("coverage.lines.percent", min=70)), COVERAGE, None)
    assert result.status is GateStatus.PASS
    assert result.message == "line coverage 71.4% ≥ 70% (1,203 of 1,685 lines)"


@pytest.mark.parametrize(
    ("actual", "status", "message"),
    [
        (0, GateStatus.PASS, "high findings 0 ≤ 0"),
        (3, GateStatus.FAIL, "high findings 3 > 0"),
    ],
)
def test_max(actual: float, status: GateStatus, message: str) -> None:
    result = evaluate_gate(gate(leaf("findings.high", max=0)), {"findings.high": actual}, None)
    assert (result.status, result.message, result.operator) == (status, message, "<=")


@pytest.mark.parametrize(
    ("actual", "status", "message"),
    [
        (0, GateStatus.PASS, "failed tests 0 = 0"),
        (2, GateStatus.FAIL, "failed tests 2 ≠ 0"),
    ],
)
def test_equals(actual: float, status: GateStatus, message: str) -> None:
    result = evaluate_gate(gate(leaf("tests.failed", equals=0)), {"tests.failed": actual}, None)
    assert (result.status, result.message, result.operator, result.threshold) == (status, message, "==", 0)


@pytest.mark.parametrize(
    ("actual", "status", "message"),
    [
        (5, GateStatus.FAIL, "tests 5 < 10"),
        (10, GateStatus.PASS, "tests 10 between 10 and 1,000"),
        (400, GateStatus.PASS, "tests 400 between 10 and 1,000"),
        (1000, GateStatus.PASS, "tests 1,000 between 10 and 1,000"),
        (1500, GateStatus.FAIL, "tests 1,500 > 1,000"),
    ],
)
def test_min_and_max(actual: float, status: GateStatus, message: str) -> None:
    result = evaluate_gate(gate(leaf("tests.total", min=10, max=1000)), {"tests.total": actual}, None)
    assert (result.status, result.message, result.operator) == (status, message, "between")


def test_pass_percent_counts_the_tests_that_ran() -> None:
    metrics = {"tests.total": 10.0, "tests.passed": 8.0, "tests.skipped": 1.0, "tests.pass_percent": 800 / 9}
    result = evaluate_gate(gate(leaf("tests.pass_percent", min=100)), metrics, None)
    assert result.message == "test pass rate 88.9% < 100% (8 of 9 tests that ran passed)"


def test_a_metric_without_a_label_reads_by_its_name() -> None:
    result = evaluate_gate(gate(leaf("findings.waived", max=2)), {"findings.waived": 3}, None)
    assert result.message == "waived findings 3 > 2"


# --- never rounding onto the threshold -------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "bounds", "actual", "message"),
    [
        ("tests.pass_percent", {"min": 100}, 99.96, "test pass rate 99.96% < 100%"),
        ("tests.pass_percent", {"min": 100}, 99.9996, "test pass rate 99.9996% < 100%"),
        ("coverage.lines.percent", {"min": 80}, 79.99, "line coverage 79.99% < 80%"),
        ("coverage.lines.percent", {"min": 80}, 80.04, "line coverage 80.04% ≥ 80%"),
        ("coverage.lines.percent", {"min": 99.95}, 99.9, "line coverage 99.9% < 99.95%"),
        ("coverage.lines.percent", {"max": 20}, 20.001, "line coverage 20.001% > 20%"),
        ("tests.duration_seconds", {"max": 300}, 300.004, "test duration 300.004s > 300s"),
        ("tests.duration_seconds", {"max": 300}, 12.5, "test duration 12.5s ≤ 300s"),
    ],
)
def test_message_never_rounds_onto_the_threshold(
    metric: str, bounds: dict[str, float], actual: float, message: str
) -> None:
    result = evaluate_gate(gate(leaf(metric, **bounds)), {metric: actual}, None)
    assert result.message == message


def test_a_percentage_never_rounds_onto_full_or_none() -> None:
    metrics = {"coverage.lines.covered": 1999.0, "coverage.lines.total": 2000.0}
    metrics["coverage.lines.percent"] = 99.95
    result = evaluate_gate(gate(leaf("coverage.lines.percent", min=80)), metrics, None)
    assert result.message == "line coverage 99.95% ≥ 80% (1,999 of 2,000 lines)"
    assert format_number(0.01, "%") == "0.01%"
    assert format_number(100.0, "%") == "100%"
    assert format_number(0.0, "%") == "0%"


def _shown(text: str) -> float:
    return float(text.rstrip("%").replace(",", ""))


@settings(deadline=None, max_examples=300)
@given(
    actual=st.floats(min_value=0, max_value=100, allow_nan=False),
    threshold=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_the_shown_value_is_on_the_same_side_of_the_threshold(actual: float, threshold: float) -> None:
    shown = format_number(actual, "%", near=threshold)
    if actual < threshold:
        assert _shown(shown) < threshold, (shown, threshold)
    elif actual > threshold:
        assert _shown(shown) > threshold, (shown, threshold)
    if actual != threshold:
        assert shown != format_threshold(threshold, "%")


def test_thresholds_read_as_written() -> None:
    assert format_threshold(80, "%") == "80%"
    assert format_threshold(99.95, "%") == "99.95%"
    assert format_threshold(1500) == "1,500"
    assert format_threshold(0.5, "s") == "0.5s"


# --- all / any ---------------------------------------------------------------------------------------

SECURITY = {"findings.critical": 0.0, "findings.high": 2.0}
BOTH = Group(operator=Operator.ALL, conditions=(leaf("findings.critical", max=0), leaf("findings.high", max=0)))
EITHER = Group(
    operator=Operator.ANY,
    conditions=(leaf("coverage.lines.percent", min=80), leaf("coverage.branches.percent", min=60)),
)


def test_all_fails_on_one_failing_child_and_names_it() -> None:
    result = evaluate_gate(gate(BOTH), SECURITY, None)
    assert result.status is GateStatus.FAIL
    assert result.message == "high findings 2 > 0"
    assert (result.metric, result.operator, result.threshold, result.actual) == (
        "all(findings.critical, findings.high)",
        "all",
        None,
        None,
    )


def test_all_holds_when_every_child_does_and_says_each() -> None:
    result = evaluate_gate(gate(BOTH), {"findings.critical": 0, "findings.high": 0}, None)
    assert result.status is GateStatus.PASS
    assert result.message == "critical findings 0 ≤ 0 and high findings 0 ≤ 0"


def test_all_with_a_failing_and_an_absent_child_fails_whatever_if_absent_says() -> None:
    result = evaluate_gate(gate(BOTH, if_absent=IfAbsent.SKIP), {"findings.high": 1}, None)
    assert result.status is GateStatus.FAIL
    assert result.message == "high findings 1 > 0"


@pytest.mark.parametrize(
    ("if_absent", "status"),
    [(IfAbsent.FAIL, GateStatus.FAIL), (IfAbsent.WARN, GateStatus.WARN), (IfAbsent.SKIP, GateStatus.SKIP)],
)
def test_all_with_one_absent_child_follows_if_absent(if_absent: IfAbsent, status: GateStatus) -> None:
    result = evaluate_gate(gate(BOTH, if_absent=if_absent), {"findings.critical": 0}, None)
    assert result.status is status
    assert result.message == f"high findings: no report gives findings.high (if_absent: {if_absent.value})"


def test_any_holds_on_one_holding_child_even_if_another_is_absent() -> None:
    result = evaluate_gate(gate(EITHER), {"coverage.lines.percent": 85.0}, None)
    assert result.status is GateStatus.PASS
    assert result.message == "line coverage 85% ≥ 80%"


def test_any_fails_when_no_child_holds_and_says_each() -> None:
    metrics = COVERAGE | {"coverage.branches.percent": 40.0}
    result = evaluate_gate(gate(EITHER), metrics, None)
    assert result.status is GateStatus.FAIL
    assert result.message == "line coverage 71.4% < 80% (1,203 of 1,685 lines) and branch coverage 40% < 60%"


def test_any_with_failing_and_absent_children_follows_if_absent() -> None:
    result = evaluate_gate(gate(EITHER, if_absent=IfAbsent.WARN), COVERAGE, None)
    assert result.status is GateStatus.WARN
    assert result.message == (
        "line coverage 71.4% < 80% (1,203 of 1,685 lines) and "
        "branch coverage: no report gives coverage.branches.percent (if_absent: warn)"
    )


def test_a_group_whose_children_are_all_absent_names_the_metrics_once() -> None:
    result = evaluate_gate(gate(BOTH), {}, None)
    assert result.status is GateStatus.FAIL
    assert result.message == "no report gives findings.critical, findings.high (if_absent: fail)"


def test_nested_groups_gather_their_absent_metrics() -> None:
    nested = Group(operator=Operator.ANY, conditions=(leaf("findings.total", equals=0), BOTH))
    assert evaluate_gate(gate(nested), {}, None).message == (
        "no report gives findings.total, findings.critical, findings.high (if_absent: fail)"
    )
    scanned = {"findings.total": 3.0, "findings.critical": 0.0, "findings.high": 0.0}
    holds = evaluate_gate(gate(nested), scanned, None)
    assert holds.status is GateStatus.PASS
    assert holds.message == "critical findings 0 ≤ 0 and high findings 0 ≤ 0"


# --- if_absent by severity ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("if_absent", "severity", "status"),
    [
        (IfAbsent.FAIL, GateSeverity.BLOCK, GateStatus.FAIL),
        (IfAbsent.FAIL, GateSeverity.WARN, GateStatus.WARN),
        (IfAbsent.WARN, GateSeverity.BLOCK, GateStatus.WARN),
        (IfAbsent.WARN, GateSeverity.WARN, GateStatus.WARN),
        (IfAbsent.SKIP, GateSeverity.BLOCK, GateStatus.SKIP),
        (IfAbsent.SKIP, GateSeverity.WARN, GateStatus.SKIP),
    ],
)
def test_if_absent_by_severity(if_absent: IfAbsent, severity: GateSeverity, status: GateStatus) -> None:
    result = evaluate_gate(gate(leaf("tests.total", min=1), if_absent=if_absent, severity=severity), {}, None)
    assert result.status is status
    assert result.actual is None
    assert result.message == f"tests: no report gives tests.total (if_absent: {if_absent.value})"


def test_zero_is_not_absent() -> None:
    skip_if_absent = gate(leaf("tests.total", min=1), if_absent=IfAbsent.SKIP)
    result = evaluate_gate(skip_if_absent, {"tests.total": 0}, None)
    assert result.status is GateStatus.FAIL
    assert result.message == "tests 0 < 1"


def test_a_failing_warn_gate_warns() -> None:
    result = evaluate_gate(
        gate(leaf("findings.medium", max=1), severity=GateSeverity.WARN), {"findings.medium": 4}, None
    )
    assert result.status is GateStatus.WARN
    assert result.severity is GateSeverity.WARN


# --- when: branch --------------------------------------------------------------------------------

RELEASE = ("main", "release/*", "!release/legacy-*")


@pytest.mark.parametrize(
    ("patterns", "branch", "expected"),
    [
        (RELEASE, "main", True),
        (RELEASE, "release/2.4", True),
        (RELEASE, "release/legacy-1.0", False),
        (RELEASE, "feature/x", False),
        (RELEASE, "mainline", False),
        (RELEASE, None, True),  # unknown branch: the gate applies (fail safe)
        (("!main",), "main", False),  # only exclusions: everywhere else
        (("!main",), "feature/x", True),
        (("release/*",), "release/2.4/hotfix", True),  # fnmatch: * spans /
        (("Main",), "main", False),  # case matters, as in git
        ((), "anything", True),
    ],
)
def test_when_branch(patterns: tuple[str, ...], branch: str | None, expected: bool) -> None:
    assert applies(gate(leaf("tests.total", min=1), branches=patterns), branch) is expected


def test_a_gate_not_applied_on_this_branch_is_skipped_and_says_why() -> None:
    result = evaluate_gate(gate(leaf("tests.total", min=1), branches=RELEASE), {}, "feature/x")
    assert result.status is GateStatus.SKIP
    assert result.message == ("not applied on branch 'feature/x' (when branch: main, release/*, !release/legacy-*)")


def test_on_an_unknown_branch_the_gate_applies() -> None:
    result = evaluate_gate(gate(leaf("tests.total", min=1), branches=RELEASE), {"tests.total": 0}, None)
    assert result.status is GateStatus.FAIL


# --- the decision ----------------------------------------------------------------------------------


def policy(*gates: Gate) -> Policy:
    return Policy(name="p", path="p.yaml", gates=gates)


def ran(passed: int, failed: int = 0) -> Evidence:
    return Evidence(tests=TestResults(passed=passed, failed=failed))


PRESENT = gate(leaf("tests.total", min=1), id="tests-present")
ALL_PASS = gate(leaf("tests.pass_percent", min=100), id="tests-all-pass")
NO_FAILED = gate(leaf("tests.failed", max=0), id="no-failed-tests")
FEW_FAILED = gate(leaf("tests.failed", max=0), id="few-failed", severity=GateSeverity.WARN)
LINES = gate(leaf("coverage.lines.percent", min=80), id="line-coverage", if_absent=IfAbsent.SKIP)
ON_MAIN = gate(leaf("tests.total", min=1000), id="big-suite-on-main", branches=("main",))


def test_pass_says_how_many_gates_held() -> None:
    outcome = decide(ran(5), policy(PRESENT, ALL_PASS), Context(), TODAY)
    assert (outcome.status, outcome.reason) == (Decision.PASS, "all 2 applicable gates hold")


def test_pass_with_one_gate_and_skipped_gates() -> None:
    outcome = decide(ran(5), policy(PRESENT, LINES, ON_MAIN), Context(branch="feature/x"), TODAY)
    assert (outcome.status, outcome.reason) == (Decision.PASS, "the 1 applicable gate holds (2 skipped)")


def test_pass_when_no_gate_applies() -> None:
    outcome = decide(ran(5), policy(LINES, ON_MAIN), Context(branch="feature/x"), TODAY)
    assert (outcome.status, outcome.reason) == (Decision.PASS, "no gate applied (2 skipped)")


def test_pass_with_no_gates() -> None:
    outcome = decide(ran(5), policy(), Context(), TODAY)
    assert (outcome.status, outcome.reason, outcome.gates) == (Decision.PASS, "the policy has no gates", ())


def test_warn_when_only_warning_gates_fail() -> None:
    outcome = decide(ran(5, failed=1), policy(PRESENT, FEW_FAILED), Context(), TODAY)
    assert outcome.status is Decision.WARN
    assert outcome.reason == "1 gate warned: few-failed: failed tests 1 > 0"


def test_fail_beats_warn_and_names_the_other_failures() -> None:
    outcome = decide(ran(5, failed=1), policy(PRESENT, FEW_FAILED, ALL_PASS, NO_FAILED), Context(), TODAY)
    assert outcome.status is Decision.FAIL
    assert outcome.reason == (
        "2 blocking gates failed: tests-all-pass: test pass rate 83.3% < 100% (5 of 6 tests that ran passed);"
        " also no-failed-tests"
    )
    assert [g.status.value for g in outcome.gates] == ["pass", "warn", "fail", "fail"]


def test_a_long_list_of_failures_is_counted() -> None:
    gates = [gate(leaf("tests.total", min=100 + i), id=f"g{i}") for i in range(8)]
    outcome = decide(ran(5), policy(*gates), Context(), TODAY)
    assert outcome.reason == "8 blocking gates failed: g0: tests 5 < 100; also g1, g2, g3, g4, g5 and 2 more"


def test_no_report_is_not_a_pass() -> None:
    outcome = decide(Evidence(), policy(PRESENT), Context(), TODAY)
    assert outcome.status is Decision.FAIL
    assert outcome.reason == (
        "1 blocking gate failed: tests-present: tests: no report gives tests.total (if_absent: fail)"
    )
    assert outcome.metrics == {}


def test_without_a_scan_there_is_no_waived_count() -> None:
    outcome = decide(ran(1), policy(PRESENT), Context(), TODAY)
    assert "findings.waived" not in outcome.metrics


def test_the_gates_keep_the_policy_order() -> None:
    outcome = decide(ran(5), policy(NO_FAILED, PRESENT, ALL_PASS), Context(), TODAY)
    assert [g.id for g in outcome.gates] == ["no-failed-tests", "tests-present", "tests-all-pass"]


def test_same_inputs_give_the_same_outcome() -> None:
    findings = tuple(
        Finding(
            tool="bandit",
            rule=f"B{i}",
            severity=Severity.HIGH,
            tool_severity="HIGH",
            path=f"src/{i}.py",
            line=i,
            message="m",
            fingerprint=f"{i:064x}",
        )
        for i in range(5)
    )
    evidence = Evidence(tests=TestResults(passed=9, failed=1), findings=findings)
    rules = policy(PRESENT, ALL_PASS, gate(BOTH, id="security"), LINES, ON_MAIN)
    first = decide(evidence, rules, Context(branch="main"), TODAY)
    second = decide(evidence, rules, Context(branch="main"), TODAY)
    assert first == second
    assert list(first.metrics) == list(second.metrics)
    assert re.search(r"high findings 5 > 0", first.gates[2].message)


def test_decide_does_not_change_its_inputs() -> None:
    evidence = ran(5)
    rules = policy(PRESENT)
    decide(evidence, rules, Context(), TODAY)
    assert evidence == ran(5)
    assert rules == policy(PRESENT)


# --- the verdict records each gate's condition as data (gatekeeper.verdict/v2) -------------------------


def test_every_gate_record_carries_its_condition_as_the_policy_stated_it(tmp_path: Path) -> None:
    """Comparison, range, equals, nested group and both ratchets (with the baseline value they used,
    null when the baseline lacks it), if_absent and the branch patterns: what the effective policy said."""
    import json

    from gatekeeper.engine import Baseline, Decision, Maturity, Outcome, evaluate
    from gatekeeper.policy import load_policy
    from gatekeeper.verdict import build, gate_from_json
    from gatekeeper.waivers import apply_waivers
    from tests.outputs.cases import validate

    path = tmp_path / "policy.yaml"
    path.write_text(
        "policy: kinds\n"
        "gates:\n"
        "  - {id: min, metric: coverage.lines.percent, min: 80}\n"
        "  - {id: range, metric: tests.total, min: 30, max: 500, if_absent: warn}\n"
        "  - {id: equals, metric: findings.critical, equals: 0, severity: warn}\n"
        "  - {id: group, any: [{metric: findings.high, max: 1}, {all: [{metric: tests.total, min: 1},"
        " {metric: coverage.lines.percent, max_decrease: 0.5}]}]}\n"
        "  - {id: rise, metric: findings.high, max_increase: 0, if_absent: skip}\n"
        "  - {id: absent, metric: coverage.branches.percent, min: 50, if_absent: skip,"
        " when: {branch: ['main', '!release/*']}}\n",
        encoding="utf-8",
    )
    policy = load_policy(path)
    baseline = Baseline(verdict_id="b", source="store", branch="main", created_at=None, metrics={"findings.high": 1})
    metrics = {"coverage.lines.percent": 71.5, "tests.total": 40, "findings.critical": 0, "findings.high": 2}
    gates = evaluate(policy, metrics, Context(branch="main"), baseline)
    outcome = Outcome(
        status=Decision.FAIL,
        reason="r",
        metrics=metrics,
        gates=gates,
        waivers=apply_waivers((), (), date(2026, 6, 1)),
        maturity=Maturity(model=None, level=None, level_achieved=None),
        baseline=baseline,
    )
    verdict = json.loads(
        json.dumps(build(outcome=outcome, policy=policy, context=Context(), inputs=[], duration_ms=1).to_json())
    )
    assert verdict["schema"] == "gatekeeper.verdict/v2"
    assert verdict["policy"]["baseline_branch"] == "main"
    records = {record["id"]: record for record in verdict["gates"]}
    assert records["min"]["condition"] == {"metric": "coverage.lines.percent", "min": 80}
    assert records["range"]["condition"] == {"metric": "tests.total", "min": 30, "max": 500}
    assert records["range"]["if_absent"] == "warn"
    assert records["equals"]["condition"] == {"metric": "findings.critical", "equals": 0}
    assert records["group"]["condition"] == {
        "any": [
            {"metric": "findings.high", "max": 1},
            {
                "all": [
                    {"metric": "tests.total", "min": 1},
                    {"metric": "coverage.lines.percent", "max_decrease": 0.5, "baseline": None},
                ]
            },
        ]
    }
    assert records["rise"]["condition"] == {"metric": "findings.high", "max_increase": 0, "baseline": 1}
    assert records["absent"]["when"] == {"branch": ["main", "!release/*"]}
    assert (records["absent"]["if_absent"], records["absent"]["status"]) == ("skip", "skip")
    assert "when" not in records["min"]
    validate(verdict)
    # read back: the same conditions, typed, as the policy has them
    for gate in policy.gates:
        record = gate_from_json(records[gate.id])
        assert record.condition == gate.condition, gate.id
        assert (record.if_absent, record.branches) == (gate.if_absent, gate.branches)
