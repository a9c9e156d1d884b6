"""The engine: (evidence, policy, context, date) -> a decision. Pure: no I/O, no clock, no environment.

Same inputs, same decision, byte for byte.  Every gate result carries a one-line message a person
understands, e.g. "line coverage 71.4% < 80% (1,203 of 1,685 lines)".
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum

from gatekeeper import metrics as metric_names
from gatekeeper.context import Context
from gatekeeper.model import Evidence
from gatekeeper.policy import Condition, Gate, GateSeverity, IfAbsent, Policy
from gatekeeper.waivers import WaiverOutcome, apply_waivers


class GateStatus(str, Enum):
    PASS = "pass"
    FAIL = "fail"  # a blocking gate failed
    WARN = "warn"  # a warning gate failed, or an absent metric with if_absent: warn
    SKIP = "skip"  # not applicable on this branch, or an absent metric with if_absent: skip


class Decision(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    id: str
    criterion: str
    metric: str  # the metric, or "all(...)"/"any(...)" for a group
    operator: str  # ">=", "<=", "==", "all", "any"
    threshold: float | None
    actual: float | None
    status: GateStatus
    severity: GateSeverity
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status: Decision
    reason: str
    metrics: metric_names.Metrics
    gates: tuple[GateResult, ...]
    waivers: WaiverOutcome


#: How a metric reads in a message: (label, unit). Counts have no unit.
LABELS: dict[str, tuple[str, str]] = {
    "tests.total": ("tests", ""),
    "tests.passed": ("passed tests", ""),
    "tests.failed": ("failed tests", ""),
    "tests.errors": ("errored tests", ""),
    "tests.skipped": ("skipped tests", ""),
    "tests.flaky": ("flaky tests", ""),
    "tests.pass_percent": ("test pass rate", "%"),
    "tests.duration_seconds": ("test duration", "s"),
    "coverage.lines.covered": ("covered lines", ""),
    "coverage.lines.total": ("lines", ""),
    "coverage.lines.percent": ("line coverage", "%"),
    "coverage.branches.covered": ("covered branches", ""),
    "coverage.branches.total": ("branches", ""),
    "coverage.branches.percent": ("branch coverage", "%"),
    "findings.total": ("findings", ""),
    "findings.critical": ("critical findings", ""),
    "findings.high": ("high findings", ""),
    "findings.medium": ("medium findings", ""),
    "findings.low": ("low findings", ""),
    "findings.info": ("info findings", ""),
    "findings.waived": ("waived findings", ""),
}
#: For a percentage, the counts it is made of: (numerator, denominator, noun).
_PARTS = {
    "tests.pass_percent": ("tests.passed", None, "tests ran"),
    "coverage.lines.percent": ("coverage.lines.covered", "coverage.lines.total", "lines"),
    "coverage.branches.percent": ("coverage.branches.covered", "coverage.branches.total", "branches"),
}


def format_number(value: float, unit: str = "", near: float | None = None) -> str:
    """1,203 / 71.4% / 0.25s; never rounds a value onto the threshold it is compared with."""
    if unit != "%" and float(value).is_integer():
        return f"{int(value):,}{unit}"
    digits = 1 if unit == "%" else 2
    if near is not None and value != near:
        while digits < 6 and round(value, digits) == round(near, digits):
            digits += 1
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + unit


def _parts(metric: str, metrics: metric_names.Metrics) -> str:
    """" (1,203 of 1,685 lines)" for a percentage whose counts are known, else ""."""
    parts = _PARTS.get(metric)
    if parts is None:
        return ""
    numerator, denominator, noun = parts
    if denominator is None:  # tests.pass_percent is over the tests that ran (not skipped)
        whole = metrics.get("tests.total", 0) - metrics.get("tests.skipped", 0)
        return f" ({format_number(metrics.get(numerator, 0))} of {format_number(whole)} tests that ran passed)"
    if numerator in metrics and denominator in metrics:
        return f" ({format_number(metrics[numerator])} of {format_number(metrics[denominator])} {noun})"
    return ""


def applies(gate: Gate, branch: str | None) -> bool:
    """A gate with branch patterns applies on matching branches; on an unknown branch it applies (fail safe)."""
    if not gate.branches or branch is None:
        return True
    includes = [p for p in gate.branches if not p.startswith("!")]
    excludes = [p[1:] for p in gate.branches if p.startswith("!")]
    if any(fnmatch.fnmatchcase(branch, pattern) for pattern in excludes):
        return False
    return not includes or any(fnmatch.fnmatchcase(branch, pattern) for pattern in includes)


@dataclass(frozen=True, slots=True)
class _Check:
    holds: bool | None  # None: a metric it needs is absent
    operator: str
    threshold: float | None
    actual: float | None
    text: str


def _check(condition: Condition, metrics: metric_names.Metrics) -> _Check:
    if condition.all or condition.any:
        group = "all" if condition.all else "any"
        children = [_check(child, metrics) for child in (condition.all or condition.any)]
        known = [c.holds for c in children if c.holds is not None]
        if group == "all":
            holds: bool | None = False if False in known else (None if len(known) < len(children) else True)
        else:
            holds = True if True in known else (None if len(known) < len(children) else False)
        failing = [c.text for c in children if c.holds is not True] if holds is not True else []
        shown = failing or [c.text for c in children]
        joiner = " and " if group == "all" else " or "
        return _Check(holds, group, None, None, joiner.join(shown))
    metric = condition.metric
    assert metric is not None
    actual = metrics.get(metric)
    if condition.equals is not None:
        operator, threshold = "==", condition.equals
    elif condition.min is not None and condition.max is not None:
        operator, threshold = "between", condition.min
    elif condition.min is not None:
        operator, threshold = ">=", condition.min
    else:
        operator, threshold = "<=", condition.max
    label, unit = LABELS.get(metric, (metric, ""))
    if actual is None:
        return _Check(None, operator, threshold, None, f"{label}: no report gives {metric}")
    holds = _compare(actual, condition)
    text = _comparison_text(metric, actual, condition, holds, metrics)
    return _Check(holds, operator, threshold, actual, text)


def _compare(actual: float, condition: Condition) -> bool:
    if condition.equals is not None:
        return math.isclose(actual, condition.equals, rel_tol=0, abs_tol=1e-9)
    if condition.min is not None and actual < condition.min:
        return False
    return not (condition.max is not None and actual > condition.max)


def _comparison_text(
    metric: str, actual: float, condition: Condition, holds: bool, metrics: metric_names.Metrics
) -> str:
    label, unit = LABELS.get(metric, (metric, ""))
    if condition.equals is not None:
        symbol, threshold = ("=" if holds else "≠"), condition.equals
    elif condition.min is not None and (actual < condition.min or condition.max is None):
        symbol, threshold = ("≥" if holds else "<"), condition.min
    else:
        assert condition.max is not None
        symbol, threshold = ("≤" if holds else ">"), condition.max
    shown = format_number(actual, unit, near=threshold)
    return f"{label} {shown} {symbol} {format_number(threshold, unit)}{_parts(metric, metrics)}"


def evaluate_gate(gate: Gate, metrics: metric_names.Metrics, branch: str | None) -> GateResult:
    condition = gate.condition
    metric = condition.metric or f"{'all' if condition.all else 'any'}({', '.join(condition.metrics())})"
    result = GateResult(
        id=gate.id,
        criterion=gate.criterion,
        metric=metric,
        operator="",
        threshold=None,
        actual=None,
        status=GateStatus.PASS,
        severity=gate.severity,
        message="",
    )
    if not applies(gate, branch):
        patterns = ", ".join(gate.branches)
        return replace(result, status=GateStatus.SKIP, message=f"not applied on branch '{branch}' ({patterns})")
    check = _check(condition, metrics)
    result = replace(result, operator=check.operator, threshold=check.threshold, actual=check.actual)
    if check.holds is None:
        status = {
            IfAbsent.FAIL: GateStatus.FAIL if gate.severity is GateSeverity.BLOCK else GateStatus.WARN,
            IfAbsent.WARN: GateStatus.WARN,
            IfAbsent.SKIP: GateStatus.SKIP,
        }[gate.if_absent]
        return replace(result, status=status, message=f"{check.text} (if_absent: {gate.if_absent.value})")
    if check.holds:
        return replace(result, status=GateStatus.PASS, message=check.text)
    status = GateStatus.FAIL if gate.severity is GateSeverity.BLOCK else GateStatus.WARN
    return replace(result, status=status, message=check.text)


def decide(evidence: Evidence, policy: Policy, context: Context, today: date) -> Outcome:
    """Apply waivers, compute metrics, evaluate every gate, and reach one decision with its reason."""
    outcome = apply_waivers(evidence.findings or (), policy.waivers, today)
    if evidence.findings is not None:
        evidence = replace(evidence, findings=outcome.kept)
    metrics = metric_names.compute(evidence)
    if evidence.findings is not None:
        metrics["findings.waived"] = len(outcome.waived)
    results = tuple(evaluate_gate(gate, metrics, context.branch) for gate in policy.gates)
    failed = [r for r in results if r.status is GateStatus.FAIL]
    warned = [r for r in results if r.status is GateStatus.WARN]
    if failed:
        status, reason = Decision.FAIL, _reason("blocking gate", failed)
    elif warned:
        status, reason = Decision.WARN, _reason("gate", warned) + " (warning only)"
    else:
        passed = sum(1 for r in results if r.status is GateStatus.PASS)
        status, reason = Decision.PASS, f"all {passed} applicable gates hold"
        if not results:
            reason = "the policy has no gates"
    return Outcome(status=status, reason=reason, metrics=metrics, gates=results, waivers=outcome)


def _reason(kind: str, results: list[GateResult]) -> str:
    first = results[0]
    more = f" (+{len(results) - 1} more)" if len(results) > 1 else ""
    plural = "s" if len(results) > 1 else ""
    return f"{len(results)} {kind}{plural} failed: {first.id}: {first.message}{more}"
