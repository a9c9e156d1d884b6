"""The engine: (evidence, policy, context, date) -> a decision. Pure: no I/O, no clock, no environment.

Same inputs, same decision, byte for byte.  Every gate result carries a one-line message a person
understands, e.g. "line coverage 71.4% < 80% (1,203 of 1,685 lines)".
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from gatekeeper import metrics as metric_names
from gatekeeper.model import Decision as Decision
from gatekeeper.model import Evidence
from gatekeeper.model import GateStatus as GateStatus
from gatekeeper.policy import (
    Comparison,
    Condition,
    Gate,
    GateSeverity,
    Group,
    IfAbsent,
    Operator,
    Policy,
    Ratchet,
    assert_never,
)
from gatekeeper.waivers import WaiverOutcome, apply_waivers
from gatekeeper.words import plural

if TYPE_CHECKING:  # a change, a baseline's keys and a quarantine are judged only where given (issue 16)
    from gatekeeper.change import Change
    from gatekeeper.context import Context
    from gatekeeper.known import KeySet
    from gatekeeper.newcode import NewCode
    from gatekeeper.quarantine import QuarantineOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    id: str
    criterion: str
    metric: str  # the metric, or "all(...)"/"any(...)" for a group
    operator: Operator | None  # None: the gate did not apply on this branch
    threshold: float | None
    actual: float | None
    status: GateStatus
    severity: GateSeverity
    message: str
    baseline: float | None = None  # a ratchet's value in the baseline verdict
    #: The gate's condition as the effective policy stated it (gatekeeper.verdict/v2 records it, so the
    #: gate is explained from data): None only for a v1 record whose message the v1 reader cannot read.
    condition: Condition | None = None
    if_absent: IfAbsent = IfAbsent.FAIL  # a v1 record does not say: read as the default, fail
    branches: tuple[str, ...] = ()  # the gate's `when: branch` patterns
    #: Each ratchet's metric and its value in the baseline verdict (None: none to compare with).
    baselines: tuple[tuple[str, float | None], ...] = ()
    #: Below this many changed coverable lines (coverage.new_lines.total) the gate does not judge.
    min_new_lines: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """The verdict ratchets compare with: the last one of the project on its reference branch, or a file."""

    verdict_id: str
    source: str  # "store", or the path of a verdict file
    branch: str | None
    created_at: str | None
    metrics: Mapping[str, float]
    #: Every finding's and failing test's key it knew (None: a verdict that did not record them).
    findings: KeySet | None = None
    failed_tests: KeySet | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelResult:
    level: int
    status: Decision  # pass: every gate of the level holds
    blocking_gates: tuple[str, ...]  # the gates that hold this level back


@dataclass(frozen=True, slots=True, kw_only=True)
class Maturity:
    model: str | None
    level: int | None  # the level the policy enforces
    level_achieved: int | None  # the highest level whose gates (and all below) hold; None: no model
    levels: tuple[LevelResult, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status: Decision
    reason: str
    metrics: metric_names.Metrics
    gates: tuple[GateResult, ...]
    waivers: WaiverOutcome
    maturity: Maturity
    baseline: Baseline | None = None
    #: The policy's quarantine applied to the tests; None when the policy has none (or no tests were read).
    quarantine: QuarantineOutcome | None = None
    change: Change | None = None  # the change the new-code gates judged (None: no change given)
    new_code: NewCode | None = None  # the change judged: its changed-lines coverage, new findings and failures


#: How a metric reads in a message: (label, unit). Counts have no unit.
LABELS: dict[str, tuple[str, str]] = {
    "tests.total": ("tests", ""),
    "tests.passed": ("passed tests", ""),
    "tests.failed": ("failed tests", ""),
    "tests.errors": ("errored tests", ""),
    "tests.skipped": ("skipped tests", ""),
    "tests.flaky": ("flaky tests", ""),
    "tests.quarantined": ("quarantined tests", ""),
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
    "pipeline.duration_seconds": ("pipeline feedback time", "s"),
    "change.files": ("changed files", ""),
    "change.lines_added": ("added lines", ""),
    "change.lines_removed": ("removed lines", ""),
    "coverage.new_lines.covered": ("covered changed lines", ""),
    "coverage.new_lines.total": ("changed coverable lines", ""),
    "coverage.new_lines.percent": ("changed-line coverage", "%"),
    "coverage.new_branches.covered": ("covered changed branches", ""),
    "coverage.new_branches.total": ("changed branches", ""),
    "coverage.new_branches.percent": ("changed-branch coverage", "%"),
    "findings.new.total": ("new findings", ""),
    "findings.new.critical": ("new critical findings", ""),
    "findings.new.high": ("new high findings", ""),
    "findings.new.medium": ("new medium findings", ""),
    "findings.new.low": ("new low findings", ""),
    "findings.new.info": ("new info findings", ""),
    "tests.new_failures": ("new test failures", ""),
    "trace.commits": ("commits to trace", ""),
    "trace.commits_with_key": ("commits with a requirement key", ""),
    "trace.percent": ("commits with a requirement key", "%"),
}
#: For a percentage, the counts it is made of: (numerator, denominator, noun, nouns).
_PARTS = {
    "tests.pass_percent": ("tests.passed", None, "test that ran passed", "tests that ran passed"),
    "coverage.lines.percent": ("coverage.lines.covered", "coverage.lines.total", "line", "lines"),
    "coverage.branches.percent": ("coverage.branches.covered", "coverage.branches.total", "branch", "branches"),
    "coverage.new_lines.percent": (
        "coverage.new_lines.covered",
        "coverage.new_lines.total",
        "changed line",
        "changed lines",
    ),
    "coverage.new_branches.percent": (
        "coverage.new_branches.covered",
        "coverage.new_branches.total",
        "changed branch",
        "changed branches",
    ),
    "trace.percent": ("trace.commits_with_key", "trace.commits", "commit carries a key", "commits carry a key"),
}


def format_number(value: float, unit: str = "", near: float | None = None, *, avoid: Sequence[float] = ()) -> str:
    """1,203 / 71.4% / 0.25s; never rounds a value onto the threshold it is compared with.

    99.96% against a minimum of 100% shows as 99.96%, not 100%: a message must not read "100% < 100%".
    Nor does a percentage round onto 0% or 100% (1,999 of 2,000 lines is 99.95%, not full coverage).
    `avoid` names more values it must not round onto (a ratchet's baseline and its limit).
    """
    if unit != "%" and float(value).is_integer():
        return f"{int(value):,}{unit}"
    digits = 1 if unit == "%" else 2
    extremes = (0.0, 100.0) if unit == "%" else ()
    avoid = [v for v in (near, *avoid, *extremes) if v is not None and v != value]
    # Two distinct floats differ within 330 decimals (the smallest float is about 5e-324).
    while digits < 330 and any(round(value, digits) == round(v, digits) for v in avoid):
        digits += 1
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + unit


def format_threshold(value: float, unit: str = "") -> str:
    """A threshold as the policy wrote it (99.95% stays 99.95%, never rounded to 100%)."""
    if float(value).is_integer():
        return f"{int(value):,}{unit}"
    return f"{value:,}{unit}"


def _parts(metric: str, metrics: metric_names.Metrics) -> str:
    """ " (1,203 of 1,685 lines)" for a percentage whose counts are known, else ""."""
    parts = _PARTS.get(metric)
    if parts is None:
        return ""
    numerator, denominator, noun, nouns = parts
    if denominator is None:  # tests.pass_percent is over the tests that ran (not skipped)
        if "tests.total" not in metrics:
            return ""
        # … nor quarantined (gatekeeper.quarantine): a quarantined failure counts on neither side
        whole = metrics["tests.total"] - metrics.get("tests.skipped", 0) - metrics.get("tests.quarantined", 0)
    elif denominator in metrics:
        whole = metrics[denominator]
    else:
        return ""
    if numerator not in metrics:
        return ""
    return f" ({format_number(metrics[numerator])} of {plural(whole, noun, nouns)})"


def applies(gate: Gate, branch: str | None) -> bool:
    """A gate with branch patterns applies on matching branches; on an unknown branch it applies (fail safe).

    Patterns are globs; a leading `!` excludes, and an exclusion wins over an inclusion.
    """
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
    operator: Operator
    threshold: float | None
    actual: float | None
    text: str  # the facts that decided it, e.g. "line coverage 71.4% < 80% (1,203 of 1,685 lines)"
    absent: tuple[str, ...] = ()  # the metrics it needed and no report gave
    baseline: float | None = None
    unbased: tuple[str, ...] = ()  # the metrics a ratchet needed and the baseline could not give


def _nothing_gives(names: list[str], metrics: metric_names.Metrics) -> str:
    """Why values are absent: no report gave them, or, for the run's own figures, no start time did; a
    new-code figure needs a change to judge (and a new failure, a baseline verdict that knows its failures)."""
    reasons: dict[str, list[str]] = {}
    for name in names:
        reasons.setdefault(_why_absent(name, metrics), []).append(name)
    return " and ".join(why.format(names=", ".join(group)) for why, group in reasons.items())


def _why_absent(name: str, metrics: metric_names.Metrics) -> str:
    if name in metric_names.NEW_CODE_METRICS:
        if "change.files" not in metrics:
            return "no change to judge (--diff-base, --diff-file) gives {names}"
        if name == "tests.new_failures" and "tests.total" in metrics:
            return "no baseline verdict that records its failures gives {names}"
        for prefix, what in (("coverage.new_lines.", "line"), ("coverage.new_branches.", "branch")):
            if name.startswith(prefix) and metrics.get(prefix + "total") == 0:
                return f"the coverage report measures no changed {what} ({{names}})"
    if name == "tests.quarantined" and "tests.total" in metrics:
        return "no quarantine in the policy gives {names}"
    if name in metric_names.TRACE_METRICS:
        if "trace.commits" in metrics:
            return "no commit to trace (the change has none but merges) gives {names}"
        return "no git history of the verdict's commit (run in the project's clone, at that commit) gives {names}"
    if name in metric_names.REPORT_METRICS or name in metric_names.NEW_CODE_METRICS or name.startswith("tests."):
        return "no report gives {names}"
    return "no pipeline start time gives {names}"


def _absent_text(checks: list[_Check], baseline: Baseline | None, metrics: metric_names.Metrics) -> str:
    """One phrase for every absent value: "no report gives findings.critical, findings.high".

    A ratchet that lacks its baseline value says so, not that a report is missing: "no baseline
    verdict to compare with (findings.critical, findings.high)".
    """
    if len(checks) == 1:
        return checks[0].text  # a single comparison keeps its label: "tests: no report gives tests.total"
    names = list(dict.fromkeys(name for check in checks for name in check.absent))
    unbased = list(dict.fromkeys(name for check in checks for name in check.unbased))
    phrases = [_nothing_gives(names, metrics)] if names else []
    if unbased and baseline is None:
        phrases.append(f"no baseline verdict to compare with ({', '.join(unbased)})")
    elif unbased:
        phrases.append(f"the baseline verdict has no {', '.join(unbased)}")
    return " and ".join(phrases)


def _check(condition: Condition, metrics: metric_names.Metrics, baseline: Baseline | None) -> _Check:
    if isinstance(condition, Group):
        return _check_group(condition, metrics, baseline)
    if isinstance(condition, Ratchet):
        return _check_ratchet(condition, metrics, baseline)
    if isinstance(condition, Comparison):
        return _check_comparison(condition, metrics)
    assert_never(condition)


def _check_comparison(condition: Comparison, metrics: metric_names.Metrics) -> _Check:
    metric = condition.metric
    actual = metrics.get(metric)
    operator, threshold = condition.operator, condition.threshold
    label, _ = LABELS.get(metric, (metric, ""))
    if actual is None:
        return _Check(None, operator, threshold, None, f"{label}: {_nothing_gives([metric], metrics)}", (metric,))
    holds = _compare(actual, condition)
    text = _comparison_text(metric, actual, condition, holds, metrics)
    return _Check(holds, operator, threshold, actual, text)


def _check_group(group: Group, metrics: metric_names.Metrics, baseline: Baseline | None) -> _Check:
    """`all` holds when every child holds, `any` when one does.

    An absent child decides only when nothing else does: an `all` with a failing child fails and an
    `any` with a holding child holds, whatever is absent.
    """
    children = [_check(child, metrics, baseline) for child in group.conditions]
    holding = [c for c in children if c.holds is True]
    failing = [c for c in children if c.holds is False]
    absent = [c for c in children if c.holds is None]
    holds: bool | None
    if group.operator is Operator.ALL:
        holds = False if failing else (None if absent else True)
    else:
        holds = True if holding else (None if absent else False)
    if holds is True:
        facts = [c.text for c in holding]  # an `all`: every fact; an `any`: the ones that carried it
    elif holds is False:
        facts = [c.text for c in failing]
    else:
        facts = [*(c.text for c in failing), _absent_text(absent, baseline, metrics)]
    missing = tuple(name for c in absent for name in c.absent) if holds is None else ()
    unbased = tuple(name for c in absent for name in c.unbased) if holds is None else ()
    return _Check(holds, group.operator, None, None, " and ".join(facts), missing, unbased=unbased)


def _check_ratchet(condition: Ratchet, metrics: metric_names.Metrics, baseline: Baseline | None) -> _Check:
    """A metric against its own value in the baseline: it may fall (or rise) at most so much.

    "line coverage 78.2% vs 79.5% in the baseline: down 1.3 points (may fall at most 0.5 points)"
    """
    metric, operator, allowed, decrease = condition.metric, condition.operator, condition.allowed, condition.decrease
    actual = metrics.get(metric)
    label, unit = LABELS.get(metric, (metric, ""))
    if actual is None:
        return _Check(None, operator, allowed, None, f"{label}: {_nothing_gives([metric], metrics)}", (metric,))
    before = baseline.metrics.get(metric) if baseline is not None else None
    if before is None:
        why = "no baseline verdict" if baseline is None else f"the baseline verdict has no {metric}"
        text = f"{label}: {why} to compare with"
        return _Check(None, operator, allowed, actual, text, unbased=(metric,))
    change = actual - before
    holds = (-change if decrease else change) <= allowed + _TOLERANCE

    def amount(shown: str) -> str:
        return f"{shown} {'point' if shown == '1' else 'points'}" if unit == "%" else f"{shown}{unit}"

    if abs(change) <= _TOLERANCE:
        moved = "unchanged"
    else:
        # Points read like the percentages they separate (one decimal), but a change never reads as its
        # limit or as nothing: 0.504 against 0.5 is 0.504, and 0.001 is not 0.
        if unit == "%":
            shown = format_number(abs(change), "%", near=allowed).removesuffix("%")
        else:
            shown = format_number(abs(change), near=allowed, avoid=(0.0,))
        moved = f"{'down' if change < 0 else 'up'} {amount(shown)}"
    limit = f"may {'fall' if decrease else 'rise'} at most {amount(format_threshold(allowed))}"
    # Values that differ never read alike: 78.996% vs 79.5% (not 79%, the limit), 79.46% vs 79.5%.
    bound = before - allowed if decrease else before + allowed
    now = format_number(actual, unit, near=bound, avoid=(before,))
    then = format_number(before, unit, near=actual)
    text = f"{label} {now} vs {then} in the baseline: {moved} ({limit})"
    return _Check(holds, operator, allowed, actual, text, (), before)


_TOLERANCE = 1e-9  # float noise in a ratchet's difference: 79.0 - 78.5 may be 0.5000000000000071


def _compare(actual: float, condition: Comparison) -> bool:
    if condition.equals is not None:
        return math.isclose(actual, condition.equals, rel_tol=0, abs_tol=1e-9)
    if condition.min is not None and actual < condition.min:
        return False
    return not (condition.max is not None and actual > condition.max)


def _comparison_text(
    metric: str, actual: float, condition: Comparison, holds: bool, metrics: metric_names.Metrics
) -> str:
    label, unit = LABELS.get(metric, (metric, ""))
    parts = _parts(metric, metrics)
    if condition.equals is not None:
        symbol, threshold = ("=" if holds else "≠"), condition.equals
    elif condition.min is not None and condition.max is not None and holds:
        low, high = condition.min, condition.max
        shown = format_number(actual, unit, near=low if actual - low < high - actual else high)
        bounds = f"{format_threshold(low, unit)} and {format_threshold(high, unit)}"
        return f"{label} {shown} between {bounds}{parts}"
    elif condition.min is not None and (actual < condition.min or condition.max is None):
        symbol, threshold = ("≥" if holds else "<"), condition.min
    else:
        assert condition.max is not None
        symbol, threshold = ("≤" if holds else ">"), condition.max
    shown = format_number(actual, unit, near=threshold)
    return f"{label} {shown} {symbol} {format_threshold(threshold, unit)}{parts}"


def ratchet_baselines(condition: Condition, baseline: Baseline | None) -> tuple[tuple[str, float | None], ...]:
    """Each ratchet's metric in `condition` with the value the baseline verdict gives it (None: none)."""
    metrics = [c.metric for c in condition.walk() if isinstance(c, Ratchet)]
    return tuple((m, baseline.metrics.get(m) if baseline is not None else None) for m in dict.fromkeys(metrics))


def evaluate_gate(
    gate: Gate, metrics: metric_names.Metrics, branch: str | None, baseline: Baseline | None = None
) -> GateResult:
    condition = gate.condition
    if isinstance(condition, Group):
        metric = f"{condition.operator.value}({', '.join(condition.metrics())})"
    else:
        metric = condition.metric
    result = GateResult(
        id=gate.id,
        criterion=gate.criterion,
        metric=metric,
        operator=None,
        threshold=None,
        actual=None,
        status=GateStatus.PASS,
        severity=gate.severity,
        message="",
        condition=condition,
        if_absent=gate.if_absent,
        branches=gate.branches,
        baselines=ratchet_baselines(condition, baseline),
        min_new_lines=gate.min_new_lines,
    )
    if not applies(gate, branch):
        patterns = ", ".join(gate.branches)
        message = f"not applied on branch '{branch}' (when branch: {patterns})"
        return replace(result, status=GateStatus.SKIP, message=message)
    too_small = _too_small(gate, metrics)
    if too_small is not None:
        return replace(result, status=GateStatus.SKIP, message=too_small)
    check = _check(condition, metrics, baseline)
    result = replace(
        result, operator=check.operator, threshold=check.threshold, actual=check.actual, baseline=check.baseline
    )
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


def _too_small(gate: Gate, metrics: metric_names.Metrics) -> str | None:
    """Why a gate with `min_new_lines` does not judge a change this small (SonarQube's 20-line rule: one
    uncovered line of a one-line fix is no reason to block); None when it judges.  Without a change or a
    coverage report to count its lines, the gate judges as usual (and its absent metrics say why)."""
    changed = metrics.get("coverage.new_lines.total")
    if gate.min_new_lines is None or changed is None or changed >= gate.min_new_lines:
        return None
    counted = plural(changed, "changed coverable line")
    return f"not judged: {counted}, fewer than min_new_lines {gate.min_new_lines:,}"


def decide(
    evidence: Evidence,
    policy: Policy,
    context: Context,
    today: date,
    *,
    baseline: Baseline | None = None,
    observed: Mapping[str, float] | None = None,
    levels: Sequence[Policy] = (),
    change: Change | None = None,
) -> Outcome:
    """Apply waivers, compute metrics, evaluate every gate, and reach one decision with its reason.

    `observed` adds metrics that come from the run rather than the reports (pipeline.duration_seconds);
    `levels` are the model's level packs, evaluated on the same metrics to find the level achieved;
    `change` is the merge request's change the new-code metrics judge (None: there is none to judge).
    """
    outcome = apply_waivers(evidence.findings or (), policy.waivers, today)
    if evidence.findings is not None:
        evidence = replace(evidence, findings=outcome.kept)
    quarantine = None
    if evidence.tests is not None and policy.quarantine:
        from gatekeeper.quarantine import apply_quarantine

        quarantine = apply_quarantine(evidence.tests, policy.quarantine, today)
        evidence = replace(evidence, tests=quarantine.tests)
    metrics = metric_names.compute(evidence)
    if evidence.findings is not None:
        metrics["findings.waived"] = len(outcome.waived)
    new_code = None
    if change is not None:
        from gatekeeper.newcode import judge

        known = baseline or Baseline(verdict_id="", source="", branch=None, created_at=None, metrics={})
        new_code = judge(evidence, change, known_findings=known.findings, known_failures=known.failed_tests)
        metrics.update(metric_names.new_code_metrics(new_code))
    metrics.update(observed or {})
    results = evaluate(policy, metrics, context, baseline)
    status, reason = _decision(results)
    maturity = assess(policy, levels, metrics, context, baseline)
    return Outcome(
        status=status,
        reason=reason,
        metrics=metrics,
        gates=results,
        waivers=outcome,
        maturity=maturity,
        baseline=baseline,
        quarantine=quarantine,
        change=change,
        new_code=new_code,
    )


def evaluate(
    policy: Policy, metrics: metric_names.Metrics, context: Context, baseline: Baseline | None
) -> tuple[GateResult, ...]:
    return tuple(evaluate_gate(gate, metrics, context.branch, baseline) for gate in policy.gates)


def _decision(results: Sequence[GateResult]) -> tuple[Decision, str]:
    failed = [r for r in results if r.status is GateStatus.FAIL]
    warned = [r for r in results if r.status is GateStatus.WARN]
    if failed:
        return Decision.FAIL, _reason(f"blocking {_gates(len(failed))} failed", failed)
    if warned:
        return Decision.WARN, _reason(f"{_gates(len(warned))} warned", warned)
    return Decision.PASS, _pass_reason(tuple(results))


def assess(
    policy: Policy,
    levels: Sequence[Policy],
    metrics: metric_names.Metrics,
    context: Context,
    baseline: Baseline | None,
) -> Maturity:
    """Every level of the policy's model on the same metrics; achieved: the highest level held with all below.

    A level holds when each of its gates passes or does not apply: a failed warning gate holds it back too.
    """
    results = []
    achieved = 0
    for level_policy in sorted(levels, key=lambda p: p.level or 0):
        gates = evaluate(level_policy, metrics, context, baseline)
        short = tuple(g.id for g in gates if g.status not in (GateStatus.PASS, GateStatus.SKIP))
        if not short:
            status = Decision.PASS
        elif any(g.status is GateStatus.FAIL for g in gates):
            status = Decision.FAIL
        else:
            status = Decision.WARN
        level = level_policy.level or 0
        results.append(LevelResult(level=level, status=status, blocking_gates=short))
        if status is Decision.PASS and achieved == level - 1:
            achieved = level
    return Maturity(
        model=policy.model,
        level=policy.level,
        level_achieved=achieved if levels else None,
        levels=tuple(results),
    )


def _gates(count: int) -> str:
    return "gate" if count == 1 else "gates"


_REASON_IDS = 5  # gates named after the first in a decision's reason; the rest are counted


def _reason(what: str, results: list[GateResult]) -> str:
    """The first gate in policy order speaks for the rest, which are named.

    "3 blocking gates failed: tests-all-pass: test pass rate 97.5% < 100% (…); also line-coverage, …"
    """
    first, rest = results[0], results[1:]
    reason = f"{len(results)} {what}: {first.id}: {first.message}"
    if rest:
        named = ", ".join(r.id for r in rest[:_REASON_IDS])
        more = f" and {len(rest) - _REASON_IDS} more" if len(rest) > _REASON_IDS else ""
        reason += f"; also {named}{more}"
    return reason


def _pass_reason(results: tuple[GateResult, ...]) -> str:
    if not results:
        return "the policy has no gates"
    passed = sum(1 for r in results if r.status is GateStatus.PASS)
    skipped = len(results) - passed
    if not passed:
        return f"no gate applied ({skipped} skipped)"
    held = "the 1 applicable gate holds" if passed == 1 else f"all {passed} applicable gates hold"
    return held + (f" ({skipped} skipped)" if skipped else "")
