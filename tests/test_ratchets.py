"""Ratchets: a gate compares a metric with its value in a baseline verdict (issue 4, item 5).

The engine part is pure: metrics and a Baseline built here.  The end-to-end part runs the installed
console script as a CI job would, on real coverage.py reports (examples/passing and examples/failing,
made by examples/make_reports.py), against the embedded store or a `--baseline` verdict file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.engine import Baseline, GateResult, GateStatus, evaluate_gate
from gatekeeper.policy import Comparison, Condition, Gate, GateSeverity, Group, IfAbsent, Operator, Ratchet
from gatekeeper.store.sqlite import SqliteStore
from tests.conftest import REPO

GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))
#: Real coverage.py Cobertura reports: 139 of 140 lines (99.29%), and 165 of 197 (83.76%).
HIGHER = REPO / "examples" / "passing" / "reports" / "coverage.xml"
LOWER = REPO / "examples" / "failing" / "reports" / "coverage.xml"
LINES = "coverage.lines.percent"


def baseline(**metrics: float) -> Baseline:
    """A baseline verdict's metrics (pass them as **{"findings.high": 0}: names have dots)."""
    return Baseline(
        verdict_id="0b5e1c3a-5d52-4f6c-9a57-2d7c0f1f9e11",
        source="store",
        branch="main",
        created_at="2026-03-14T09:00:00.000000Z",
        metrics=metrics,
    )


def ratchet(
    condition: Condition,
    metrics: dict[str, float],
    base: Baseline | None,
    *,
    if_absent: IfAbsent = IfAbsent.FAIL,
    severity: GateSeverity = GateSeverity.BLOCK,
) -> GateResult:
    gate = Gate(id="ratchet", condition=condition, if_absent=if_absent, severity=severity, criterion="debt falls")
    return evaluate_gate(gate, metrics, "main", base)


def coverage_ratchet(actual: float, before: float, allowed: float = 0.5) -> GateResult:
    return ratchet(
        Ratchet(metric=LINES, operator=Operator.MAX_DECREASE, allowed=allowed),
        {LINES: actual},
        baseline(**{LINES: before}),
    )


# --- max_decrease on coverage ----------------------------------------------------------------------


def test_a_fall_beyond_the_allowance_fails_and_says_by_how_much() -> None:
    result = coverage_ratchet(78.2, 79.5)
    assert result.status is GateStatus.FAIL
    assert result.message == (
        "line coverage 78.2% vs 79.5% in the baseline: down 1.3 points (may fall at most 0.5 points)"
    )
    assert (result.operator, result.threshold, result.actual, result.baseline) == ("max_decrease", 0.5, 78.2, 79.5)
    assert result.criterion == "debt falls"


def test_a_fall_within_the_allowance_holds() -> None:
    result = coverage_ratchet(79.3, 79.5)
    assert result.status is GateStatus.PASS
    assert result.message == (
        "line coverage 79.3% vs 79.5% in the baseline: down 0.2 points (may fall at most 0.5 points)"
    )


@pytest.mark.parametrize(("actual", "before"), [(79.0, 79.5), (78.2, 78.7), (50.1, 50.6), (0.5, 1.0)])
def test_a_fall_of_exactly_the_allowance_holds(actual: float, before: float) -> None:
    """78.7 - 78.2 is 0.5000000000000071 in floats: float noise must not fail the boundary."""
    result = coverage_ratchet(actual, before)
    assert result.status is GateStatus.PASS, result.message
    assert "down 0.5 points (may fall at most 0.5 points)" in result.message


def test_a_rise_and_no_change_hold() -> None:
    up = coverage_ratchet(81.0, 79.5)
    assert up.status is GateStatus.PASS
    assert up.message == "line coverage 81% vs 79.5% in the baseline: up 1.5 points (may fall at most 0.5 points)"
    same = coverage_ratchet(79.5, 79.5, allowed=0)
    assert same.status is GateStatus.PASS
    assert same.message == "line coverage 79.5% vs 79.5% in the baseline: unchanged (may fall at most 0 points)"


@pytest.mark.parametrize(
    ("actual", "before", "allowed", "status", "message"),
    [
        # Just beyond the allowance: the change must not read as the allowance itself.
        (78.996, 79.5, 0.5, GateStatus.FAIL,
         "line coverage 78.996% vs 79.5% in the baseline: down 0.504 points (may fall at most 0.5 points)"),
        # A tiny fall against no allowance fails: it must not read "down 0 points", nor "79.5% vs 79.5%".
        (79.499, 79.5, 0, GateStatus.FAIL,
         "line coverage 79.499% vs 79.5% in the baseline: down 0.001 points (may fall at most 0 points)"),
        (79.46, 79.5, 0.5, GateStatus.PASS,
         "line coverage 79.46% vs 79.5% in the baseline: down 0.04 points (may fall at most 0.5 points)"),
    ],
)  # fmt: skip
def test_messages_never_round_a_difference_away(
    actual: float, before: float, allowed: float, status: GateStatus, message: str
) -> None:
    result = coverage_ratchet(actual, before, allowed)
    assert (result.status, result.message) == (status, message)


def test_a_warning_ratchet_warns() -> None:
    condition = Ratchet(metric=LINES, operator=Operator.MAX_DECREASE, allowed=0)
    result = ratchet(condition, {LINES: 70.0}, baseline(**{LINES: 75.0}), severity=GateSeverity.WARN)
    assert result.status is GateStatus.WARN


# --- max_increase on findings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "before", "status", "message"),
    [
        (2, 0, GateStatus.FAIL, "high findings 2 vs 0 in the baseline: up 2 (may rise at most 0)"),
        (1, 1, GateStatus.PASS, "high findings 1 vs 1 in the baseline: unchanged (may rise at most 0)"),
        (0, 3, GateStatus.PASS, "high findings 0 vs 3 in the baseline: down 3 (may rise at most 0)"),
    ],
)
def test_max_increase_zero_on_high_findings(now: float, before: float, status: GateStatus, message: str) -> None:
    condition = Ratchet(metric="findings.high", operator=Operator.MAX_INCREASE, allowed=0)
    result = ratchet(condition, {"findings.high": now}, baseline(**{"findings.high": before}))
    assert (result.status, result.message, result.operator) == (status, message, "max_increase")


# --- no baseline, or a baseline without the metric -------------------------------------------------


@pytest.mark.parametrize(
    ("if_absent", "severity", "status"),
    [
        (IfAbsent.SKIP, GateSeverity.BLOCK, GateStatus.SKIP),
        (IfAbsent.WARN, GateSeverity.BLOCK, GateStatus.WARN),
        (IfAbsent.FAIL, GateSeverity.BLOCK, GateStatus.FAIL),
        (IfAbsent.FAIL, GateSeverity.WARN, GateStatus.WARN),
    ],
)
def test_no_baseline_follows_if_absent_and_says_there_is_none(
    if_absent: IfAbsent, severity: GateSeverity, status: GateStatus
) -> None:
    condition = Ratchet(metric=LINES, operator=Operator.MAX_DECREASE, allowed=0.5)
    result = ratchet(condition, {LINES: 80.0}, None, if_absent=if_absent, severity=severity)
    assert result.status is status
    assert result.message == f"line coverage: no baseline verdict to compare with (if_absent: {if_absent.value})"
    assert (result.actual, result.baseline) == (80.0, None)


def test_a_baseline_without_the_metric_says_so() -> None:
    """A baseline made before branch coverage was measured cannot ratchet it."""
    condition = Ratchet(metric="coverage.branches.percent", operator=Operator.MAX_DECREASE, allowed=0)
    result = ratchet(condition, {"coverage.branches.percent": 61.0}, baseline(**{LINES: 80.0}),
                     if_absent=IfAbsent.SKIP)  # fmt: skip
    assert result.status is GateStatus.SKIP
    assert result.message == (
        "branch coverage: the baseline verdict has no coverage.branches.percent to compare with (if_absent: skip)"
    )


def test_a_metric_no_report_gives_is_absent_whatever_the_baseline() -> None:
    condition = Ratchet(metric=LINES, operator=Operator.MAX_DECREASE, allowed=0.5)
    result = ratchet(condition, {}, baseline(**{LINES: 80.0}))
    assert result.status is GateStatus.FAIL
    assert result.message == "line coverage: no report gives coverage.lines.percent (if_absent: fail)"


# --- ratchets in groups ----------------------------------------------------------------------------

NO_NEW_FINDINGS = Group(
    operator=Operator.ALL,
    conditions=(
        Ratchet(metric="findings.critical", operator=Operator.MAX_INCREASE, allowed=0),
        Ratchet(metric="findings.high", operator=Operator.MAX_INCREASE, allowed=0),
        Ratchet(metric="findings.medium", operator=Operator.MAX_INCREASE, allowed=0),
    ),
)
FINDINGS = {"findings.critical": 0.0, "findings.high": 1.0, "findings.medium": 4.0}


def test_all_group_of_ratchets_fails_on_the_one_that_rose() -> None:
    base = baseline(**{"findings.critical": 0, "findings.high": 0, "findings.medium": 5})
    result = ratchet(NO_NEW_FINDINGS, FINDINGS, base)
    assert result.status is GateStatus.FAIL
    assert result.message == "high findings 1 vs 0 in the baseline: up 1 (may rise at most 0)"
    assert (result.metric, result.operator) == ("all(findings.critical, findings.high, findings.medium)", "all")


def test_all_group_of_ratchets_holds_with_every_fact() -> None:
    base = baseline(**{"findings.critical": 0, "findings.high": 1, "findings.medium": 5})
    result = ratchet(NO_NEW_FINDINGS, FINDINGS, base)
    assert result.status is GateStatus.PASS
    assert result.message == (
        "critical findings 0 vs 0 in the baseline: unchanged (may rise at most 0) and "
        "high findings 1 vs 1 in the baseline: unchanged (may rise at most 0) and "
        "medium findings 4 vs 5 in the baseline: down 1 (may rise at most 0)"
    )


def test_a_group_without_baseline_says_there_is_no_baseline() -> None:
    """Not "no report gives a baseline findings.critical": the reports are there, the baseline is not."""
    result = ratchet(NO_NEW_FINDINGS, FINDINGS, None, if_absent=IfAbsent.SKIP)
    assert result.status is GateStatus.SKIP
    assert result.message == (
        "no baseline verdict to compare with (findings.critical, findings.high, findings.medium) (if_absent: skip)"
    )


def test_a_group_tells_a_missing_report_from_a_missing_baseline_value() -> None:
    condition = Group(
        operator=Operator.ALL,
        conditions=(
            Comparison(metric="tests.pass_percent", min=100),
            Ratchet(metric=LINES, operator=Operator.MAX_DECREASE, allowed=0),
        ),
    )
    result = ratchet(condition, {LINES: 80.0}, baseline(**{"tests.pass_percent": 100}), if_absent=IfAbsent.WARN)
    assert result.status is GateStatus.WARN
    assert result.message == (
        "no report gives tests.pass_percent and the baseline verdict has no coverage.lines.percent (if_absent: warn)"
    )


def test_any_group_holds_on_a_ratchet_or_an_absolute_bound() -> None:
    """Coverage may fall only while it stays high: `any` of a floor and a ratchet."""
    condition = Group(
        operator=Operator.ANY,
        conditions=(Comparison(metric=LINES, min=90), Ratchet(metric=LINES, operator=Operator.MAX_DECREASE, allowed=0)),
    )
    base = baseline(**{LINES: 95.0})
    assert ratchet(condition, {LINES: 92.0}, base).status is GateStatus.PASS
    low = ratchet(condition, {LINES: 85.0}, base)
    assert low.status is GateStatus.FAIL
    assert low.message == (
        "line coverage 85% < 90% and "
        "line coverage 85% vs 95% in the baseline: down 10 points (may fall at most 0 points)"
    )
    # With no baseline the floor alone decides when it holds, and the gate says the ratchet could not.
    assert ratchet(condition, {LINES: 92.0}, None).status is GateStatus.PASS
    unknown = ratchet(condition, {LINES: 85.0}, None, if_absent=IfAbsent.SKIP)
    assert unknown.status is GateStatus.SKIP
    assert unknown.message == (
        "line coverage 85% < 90% and line coverage: no baseline verdict to compare with (if_absent: skip)"
    )


# --- end to end: the console script, the store and --baseline ------------------------------------

POLICY = """\
policy: ratchets
gates:
  - id: line-coverage-ratchet
    criterion: technical debt trends downward
    metric: coverage.lines.percent
    max_decrease: 0.5
    if_absent: warn          # no baseline yet: say so, do not block
"""
BROKEN_COBERTURA = '<?xml version="1.0"?>\n<coverage line-rate="0.9"><packages><package name="p">'


def gatekeeper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, with no CI variables (nor GATEKEEPER_*) of the machine running tests."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "GITLAB", "CI_", "JENKINS", "GATEKEEPER_"))
    }
    return subprocess.run(
        [GATEKEEPER, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def check(cwd: Path, report: Path, branch: str, *extra: str, code: int) -> dict[str, Any]:
    """One `gatekeeper check` of project acme/ledger into the workspace store; its JSON verdict."""
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(report), "--format", "json", "--store", "verdicts.db",
        "--project", "acme/ledger", "--branch", branch, *extra, cwd=cwd,
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def gate_of(verdict: dict[str, Any]) -> dict[str, Any]:
    gate: dict[str, Any]
    (gate,) = verdict["gates"]
    assert gate["id"] == "line-coverage-ratchet"
    return gate


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "broken.xml").write_text(BROKEN_COBERTURA, encoding="utf-8")
    return tmp_path


def test_the_store_baseline_is_the_last_decided_verdict_on_main(workspace: Path) -> None:
    # 1. main, the higher coverage: nothing to compare with yet; the ratchet says so and warns.
    first = check(workspace, HIGHER, "main", code=0)
    assert first["status"] == "warn" and first["baseline"] is None
    assert gate_of(first)["message"] == "line coverage: no baseline verdict to compare with (if_absent: warn)"
    # 2. main, a broken report: an error verdict is recorded (so a broken job is never silence).
    broken = gatekeeper("check", "-p", "policy.yaml", "broken.xml", "--store", "verdicts.db",
                        "--project", "acme/ledger", "--branch", "main", cwd=workspace)  # fmt: skip
    assert broken.returncode == 2, broken.stderr
    # 3. a feature branch, the lower coverage: compared with main, so it fails.
    feature = check(workspace, LOWER, "feature/legacy", "-o", "json=feature.json", code=1)
    assert feature["baseline"]["id"] == first["id"]
    # 4. Another project's verdict on main, newer still (recorded through the store's own API).
    context = {**feature["context"], "project": "acme/other", "branch": "main"}
    other = {**feature, "id": "7d4f1d0e-0000-4000-8000-000000000001", "context": context}
    with SqliteStore(workspace / "verdicts.db") as store:
        store.add(other)
    with sqlite3.connect(workspace / "verdicts.db") as db:
        rows = db.execute("select status, project, branch from verdicts order by rowid").fetchall()
    db.close()
    assert rows == [
        ("warn", "acme/ledger", "main"),
        ("error", "acme/ledger", "main"),
        ("fail", "acme/ledger", "feature/legacy"),
        ("fail", "acme/other", "main"),
    ]

    # 5. main, the lower coverage: the baseline is the first verdict — not the newer error verdict on
    # main, not the feature branch's, not the other project's (with each of those it would not fail).
    second = check(workspace, LOWER, "main", code=1)
    assert second["status"] == "fail"
    assert second["baseline"] == {
        "id": first["id"],
        "source": "store",
        "branch": "main",
        "created_at": first["created_at"],
    }
    gate = gate_of(second)
    assert gate["status"] == "fail"
    assert gate["baseline"] == first["metrics"][LINES]
    assert gate["actual"] == second["metrics"][LINES]
    assert gate["message"] == (
        "line coverage 83.8% vs 99.3% in the baseline: down 15.5 points (may fall at most 0.5 points)"
    )
    assert second["reason"].startswith("1 blocking gate failed: line-coverage-ratchet: line coverage 83.8% vs")

    # 6. --baseline FILE (a verdict written by --output json=…) wins over the store: the feature
    # verdict has the same coverage, so the ratchet holds.
    assert json.loads((workspace / "feature.json").read_text(encoding="utf-8"))["id"] == feature["id"]
    by_file = check(workspace, LOWER, "main", "--baseline", "feature.json", code=0)
    assert by_file["status"] == "pass"
    assert by_file["baseline"] == {
        "id": feature["id"],
        "source": "feature.json",
        "branch": "feature/legacy",
        "created_at": feature["created_at"],
    }
    assert gate_of(by_file)["message"] == (
        "line coverage 83.8% vs 83.8% in the baseline: unchanged (may fall at most 0.5 points)"
    )


def test_a_baseline_file_that_is_no_verdict_is_an_input_error(workspace: Path) -> None:
    (workspace / "not-a-verdict.json").write_text('{"runs": []}', encoding="utf-8")
    result = gatekeeper(
        "check", "-p", "policy.yaml", str(HIGHER), "--no-store", "--baseline", "not-a-verdict.json", cwd=workspace
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "gatekeeper: error: not-a-verdict.json: not a gatekeeper verdict (no id and metrics)"
    )
