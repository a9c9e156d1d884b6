"""`gatekeeper explain`: why each gate of a verdict passed, failed, warned or was skipped, and what would
change it — in numbers a developer can act on ("needs 145 more covered lines"), then the maturity level
achieved and what holds the next one back.

Everything is worked out from the verdict itself (metrics, gate results, details), so a verdict
downloaded from CI explains itself anywhere.  A gatekeeper.verdict/v2 gate records its condition as
data, exactly as the effective policy stated it, so the explanation is the same with the policy file at
hand or without it.  A v1 gate does not: the policy file is used where it is at hand with the same
digest, else the frozen v1 reader (`gatekeeper.verdict_v1`) reads the condition back from its message.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gatekeeper.engine import LABELS, Baseline, GateResult, GateStatus, evaluate_gate, format_number, format_threshold
from gatekeeper.errors import GatekeeperError, InputError, StoreError, os_reason, path_status, shown_path
from gatekeeper.metrics import NEW_CODE_METRICS
from gatekeeper.newcode import ranges_text
from gatekeeper.outputs.escape import md_code, md_text, terminal
from gatekeeper.policy import (
    Comparison,
    Condition,
    Gate,
    GateSeverity,
    Group,
    Operator,
    Policy,
    Ratchet,
    load_policy,
)
from gatekeeper.status import ExitStatus
from gatekeeper.store import default_store_path
from gatekeeper.verdict import (
    SCHEMA_V1,
    Details,
    FindingRecord,
    TestRecord,
    Verdict,
    parse,
)
from gatekeeper.verdict_sections import ChangeRecord, WaiverRecord
from gatekeeper.words import level_reached, plural

_NAMED = 5  # findings named in one piece of advice; the rest are counted
_TESTS_NAMED = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class GateExplanation:
    id: str
    status: GateStatus
    severity: GateSeverity
    why: str  # the facts that decided it: the engine's message
    label: str  # what the advice is: "to pass", "margin", "applies", "to evaluate"
    advice: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelSummary:
    level: int
    status: str
    blocking_gates: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    verdict_id: str
    status: str
    reason: str
    policy: str | None
    branch: str | None
    gates: tuple[GateExplanation, ...]
    model: str | None
    level: int | None
    level_achieved: int | None
    levels: tuple[LevelSummary, ...]
    next_level: int | None  # the level above the one achieved, if the model has one
    next_level_gates: tuple[GateExplanation, ...]
    expired_waivers: tuple[str, ...]
    #: where the gate conditions came from: "policy" (the file), "verdict" (v2: recorded as data) or
    #: "v1 messages" (a v1 verdict without its policy file: read back from the gate messages)
    conditions_from: str


def run(
    source: str,
    out: TextIO,
    *,
    output_format: str = "text",
    store: str | None = None,
    policy: str | None = None,
) -> ExitStatus:
    """Explain one verdict: a file, `-` for standard input, or (with `store`) an id, prefix or 'latest'."""
    verdict = _read_verdict(source, store)
    explanation = explain(verdict, policy=load_policy(policy) if policy is not None else _policy_of(verdict))
    out.write(render_markdown(explanation) if output_format == "markdown" else render_text(explanation))
    return ExitStatus.PASS


# --- reading the verdict ---------------------------------------------------------------------------


def _read_verdict(source: str, store: str | None) -> Verdict:
    if store is None and source != "-" and path_status(source) is None and _looks_like_id(source):
        store = str(default_store_path())  # `explain latest`, `explain 3f9c2a`: as `verdicts show` reads them
        if path_status(store, StoreError) is None:
            raise InputError(source, f"no such verdict file, and no store at {store} to look it up in as an id")
    if store is not None:
        return parse(_from_store(store, source), f"{store}: {source}")
    name = "<stdin>" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(name, "no such verdict file") from None
    except OSError as error:
        raise InputError(shown_path(name), f"cannot read the verdict: {os_reason(error)}") from None
    except UnicodeDecodeError as error:
        raise InputError(name, f"cannot read the verdict: {error}") from None
    try:
        verdict = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(name, f"not a verdict: invalid JSON at line {error.lineno}: {error.msg}") from None
    return parse(verdict, name)


def _looks_like_id(source: str) -> bool:
    """'latest', or what could be a verdict id or its prefix (no path separator, no file suffix)."""
    return source == "latest" or (source.replace("-", "").isalnum() and "." not in source)


def _from_store(store: str, verdict_id: str) -> dict[str, Any]:
    from gatekeeper.store.sqlite import SqliteStore

    path_status(store, StoreError)  # a symlink loop is unreadable, not absent
    with SqliteStore(store, create=False) as opened:
        if verdict_id == "latest":
            verdict = opened.latest()
            if verdict is None:
                raise StoreError(store, "no verdicts recorded yet")
            return verdict
        return opened.get(verdict_id)


def _policy_of(verdict: Verdict) -> Policy | None:
    """The policy the verdict names, if it is here and unchanged (same digest); else None."""
    path, digest = verdict.policy.path, verdict.policy.digest
    try:
        if not path or not digest or not Path(path).is_file():  # (a name too long raises on 3.11)
            return None
        policy = load_policy(path)
    except (GatekeeperError, OSError):
        return None
    return policy if policy.digest == digest else None


# --- explaining ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Facts:
    """What the advice is worked out from: the verdict's metrics and details."""

    metrics: Mapping[str, float]
    tests: Sequence[TestRecord]
    tests_omitted: int
    findings: Sequence[FindingRecord]
    findings_omitted: int
    baseline: Baseline | None
    baseline_branch: str | None
    branch: str | None
    baseline_values: dict[str, float] = field(default_factory=dict)
    change: ChangeRecord | None = None  # the change judged: its files' changed lines no test ran


def explain(verdict: Verdict, policy: Policy | None = None) -> Explanation:
    """Each gate of the verdict, then the maturity; `policy`, if given, supplies the gate conditions."""
    details = verdict.details or Details()
    values = {metric: value for r in verdict.gates for metric, value in r.baselines if value is not None}
    facts = _Facts(
        metrics=verdict.metrics,
        tests=details.tests,
        tests_omitted=details.tests_omitted,
        findings=details.findings,
        findings_omitted=details.findings_omitted,
        baseline=None,
        baseline_branch=policy.baseline_branch if policy is not None else verdict.policy.baseline_branch,
        branch=verdict.context.branch,
        baseline_values=dict(values),
        change=verdict.change,
    )
    gates = {gate.id: gate for gate in policy.gates} if policy is not None else {}
    explained = []
    for record in verdict.gates:
        gate = gates.get(record.id) or _gate_of(record)
        explained.append(explain_gate(record, gate, facts))
    if verdict.baseline is not None:
        facts.baseline = Baseline(
            verdict_id=verdict.baseline.id,
            source=verdict.baseline.source,
            branch=verdict.baseline.branch,
            created_at=verdict.baseline.created_at,
            metrics=facts.baseline_values,
        )
    maturity = verdict.maturity
    levels = tuple(
        LevelSummary(level=entry.level, status=entry.status.value, blocking_gates=entry.blocking_gates)
        for entry in maturity.levels
    )
    achieved = maturity.level_achieved
    next_level = None
    if achieved is not None and levels and achieved < max(entry.level for entry in levels):
        next_level = achieved + 1
    from_record = "v1 messages" if verdict.schema == SCHEMA_V1 else "verdict"
    return Explanation(
        verdict_id=verdict.id,
        status=verdict.status.value,
        reason=verdict.reason,
        policy=verdict.policy.name,
        branch=facts.branch,
        gates=tuple(explained),
        model=maturity.model,
        level=maturity.level,
        level_achieved=achieved,
        levels=levels,
        next_level=next_level,
        next_level_gates=_next_level_gates(maturity.model, next_level, levels, facts),
        expired_waivers=tuple(_expired(use) for use in verdict.waivers.expired),
        conditions_from="policy" if policy is not None else from_record,
    )


def _gate_of(record: GateResult) -> Gate | None:
    """The gate as its record tells it (v2: the recorded condition; v1: read back from the message)."""
    if record.condition is None:
        return None
    return Gate(
        id=record.id,
        condition=record.condition,
        severity=record.severity,
        if_absent=record.if_absent,
        branches=record.branches,
    )


def _expired(use: WaiverRecord) -> str:
    match = " ".join(f"{key}={value}" for key, value in use.match.items())
    source = f", {use.source}" if use.source else ""
    would = f"; it would have waived {plural(use.findings, 'finding')}, now counted" if use.findings else ""
    return f"{match} (expired {use.expires}{source}){would}: renew it with a new date, or fix the findings"


def _next_level_gates(
    model: str | None, next_level: int | None, levels: Sequence[LevelSummary], facts: _Facts
) -> tuple[GateExplanation, ...]:
    """The gates of the next level's pack that do not hold, evaluated on this verdict's metrics."""
    if model is None or next_level is None:
        return ()
    from gatekeeper.packs import model_levels

    summary = next((entry for entry in levels if entry.level == next_level), None)
    blocking = summary.blocking_gates if summary is not None else ()
    pack = next((p for p in model_levels(model) if p.level == next_level), None)
    if pack is None:
        return tuple(
            GateExplanation(
                id=gate_id,
                status=GateStatus.FAIL,
                severity=GateSeverity.BLOCK,
                why=f"(the {model} packs are not installed here to say more)",
                label="to pass",
                advice=(),
            )
            for gate_id in blocking
        )
    explained = []
    for gate in pack.gates:
        if gate.id not in blocking:
            continue
        result = evaluate_gate(gate, dict(facts.metrics), facts.branch, facts.baseline)
        explained.append(explain_gate(result, gate, facts))
    return tuple(explained)


def explain_gate(record: GateResult, gate: Gate | None, facts: _Facts) -> GateExplanation:
    """Why one gate came out as it did, and what would change that."""

    def result(label: str, advice: Sequence[str]) -> GateExplanation:
        return GateExplanation(
            id=record.id,
            status=record.status,
            severity=record.severity,
            why=record.message,
            label=label,
            advice=tuple(advice),
        )

    if record.status is GateStatus.SKIP and record.operator is None:  # not applied on this branch
        patterns = gate.branches if gate is not None and gate.branches else record.branches
        return result("applies", [_where_it_applies(patterns)])
    if gate is None:
        return result("to pass" if record.status in (GateStatus.FAIL, GateStatus.WARN) else "margin", [])
    node = _node(gate.condition, facts)
    if node.holds is None:
        label = "to evaluate" if record.status is GateStatus.SKIP else "to pass"
        if record.status is GateStatus.PASS:
            label = "margin"
        return result(label, _missing(node.missing))
    if record.status is GateStatus.PASS:
        return result("margin", node.margins)
    if node.holds:
        return result("to pass", [])  # the record and its conditions disagree: say nothing rather than guess
    return result("to pass", node.fixes)


# --- conditions: holds, fixes and margins ------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    holds: bool | None  # None: a metric (or a baseline) it needs is absent
    fixes: list[str] = field(default_factory=list)  # what would make it hold
    margins: list[str] = field(default_factory=list)  # how far it may move and still hold
    missing: list[tuple[str, str | None]] = field(default_factory=list)  # (what would give it, absent metric)


def _node(condition: Condition, facts: _Facts) -> _Node:
    if isinstance(condition, Group):
        children = [_node(child, facts) for child in condition.conditions]
        failing = [c for c in children if c.holds is False]
        holding = [c for c in children if c.holds is True]
        absent = [c for c in children if c.holds is None]
        missing = [m for c in absent for m in c.missing]
        if condition.operator is Operator.ALL:
            holds = False if failing else (None if absent else True)
            fixes = [fix for c in failing for fix in c.fixes]
            margins = [margin for c in holding for margin in c.margins]
        else:
            holds = True if holding else (None if absent else False)
            options = ["; or ".join(c.fixes) for c in failing if c.fixes]
            fixes = options if len(options) <= 1 else ["any one of: " + "; or ".join(options)]
            margins = [margin for c in holding for margin in c.margins]
            if len(holding) > 1:
                margins = ["several conditions hold; it fails only when all of them fail", *margins]
        return _Node(holds, fixes, margins, missing)
    return _leaf(condition, facts)


def _leaf(condition: Comparison | Ratchet, facts: _Facts) -> _Node:
    metric = condition.metric
    actual = facts.metrics.get(metric)
    if actual is None:
        return _Node(None, missing=[(_provider(metric, facts), metric)])
    if isinstance(condition, Ratchet):
        return _ratchet(metric, actual, condition, facts)
    if condition.equals is not None:
        target = condition.equals
        if math.isclose(actual, target, rel_tol=0, abs_tol=1e-9):
            return _Node(True, margins=[f"{_label(metric)} is exactly {_show(metric, target)}: any change fails it"])
        if actual > target:
            return _Node(False, fixes=[_lower(metric, actual, target, facts)])
        return _Node(False, fixes=[_raise(metric, actual, target, facts)])
    if condition.min is not None and actual < condition.min:
        return _Node(False, fixes=[_raise(metric, actual, condition.min, facts)])
    if condition.max is not None and actual > condition.max:
        return _Node(False, fixes=[_lower(metric, actual, condition.max, facts)])
    margins = []
    if condition.min is not None:
        margins.append(_above(metric, actual, condition.min, facts))
    if condition.max is not None:
        margins.append(_below(metric, actual, condition.max))
    return _Node(True, margins=[m for m in margins if m])


def _label(metric: str) -> str:
    return LABELS.get(metric, (metric, ""))[0]


def _unit(metric: str) -> str:
    return LABELS.get(metric, (metric, ""))[1]


def _show(metric: str, value: float) -> str:
    if metric.endswith("_seconds"):
        return _duration(value)
    return format_threshold(value, _unit(metric))


def _amount(metric: str, value: float) -> str:
    """A difference: "8.6 points" for a percentage, "12 min" for a duration, "3" for a count."""
    if _unit(metric) == "%":
        shown = format_number(value, "%")[:-1]
        return f"{shown} {'point' if shown == '1' else 'points'}"
    if metric.endswith("_seconds"):
        return _duration(value)
    return format_number(value)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{format_number(seconds)} s"
    return f"{format_number(seconds / 60)} min"


def _parts(metric: str) -> tuple[str, str, str] | None:
    """A coverage percentage's (covered, total, noun)."""
    kind = {"coverage.lines.percent": "lines", "coverage.branches.percent": "branches"}.get(metric)
    if kind is None:
        return None
    return f"coverage.{kind}.covered", f"coverage.{kind}.total", kind[:-1] if kind == "lines" else "branch"


def _needed(target_percent: float, whole: float, have: float) -> int:
    """How many more of `whole` must count for `have / whole` to reach the target percentage."""
    return max(math.ceil(target_percent * whole / 100 - have - 1e-9), 0)


def _raise(metric: str, actual: float, target: float, facts: _Facts) -> str:
    points = _amount(metric, target - actual)
    if metric == "coverage.new_lines.percent" and "coverage.new_lines.total" in facts.metrics:
        return _cover_changed_lines(target, facts, points)
    parts = _parts(metric)
    if parts is not None and parts[1] in facts.metrics and parts[0] in facts.metrics:
        covered, total = facts.metrics[parts[0]], facts.metrics[parts[1]]
        more = _needed(target, total, covered)
        noun = "lines" if parts[2] == "line" else "branches"
        extra = points.replace(" points", " more points")
        return f"needs {format_number(more)} more covered {noun if more != 1 else parts[2]} (or {extra})"
    if metric == "tests.pass_percent":
        return _fix_tests(target, facts)
    if metric == "tests.total":
        cases = plural(target - actual, "more test case")
        return f"needs {cases} in the test reports (at least {_show(metric, target)})"
    if metric in ("coverage.lines.total", "coverage.branches.total"):
        return (
            f"the coverage report measures only {format_number(actual)} {_label(metric)}: it needs at least "
            f"{_show(metric, target)} (point the coverage tool at your sources)"
        )
    return f"{_label(metric)} must rise by {points} (to at least {_show(metric, target)})"


def _cover_changed_lines(target: float, facts: _Facts, points: str) -> str:
    """How many of the change's uncovered lines need a test, and which they are, file by file."""
    covered, total = facts.metrics["coverage.new_lines.covered"], facts.metrics["coverage.new_lines.total"]
    more = _needed(target, total, covered)
    advice = f"needs tests that run {plural(more, 'more changed line')} (or {points.replace(' point', ' more point')})"
    change = facts.change
    missed = [record for record in change.files if record.uncovered] if change is not None else []
    if not missed:
        return advice
    spots = [f"{record.path} {ranges_text(record.uncovered).replace(',', ', ')}" for record in missed[:_NAMED]]
    rest = len(missed) - len(spots) + (change.files_omitted if change is not None else 0)
    more_files = f" and {plural(rest, 'more file')} (see the verdict's change)" if rest > 0 else ""
    return f"{advice}, of the changed lines no test runs: {'; '.join(spots)}{more_files}"


def _fix_tests(target: float, facts: _Facts) -> str:
    metrics = facts.metrics
    ran = metrics.get("tests.total", 0) - metrics.get("tests.skipped", 0)
    passed = metrics.get("tests.passed", 0)
    failed, errors = metrics.get("tests.failed", 0), metrics.get("tests.errors", 0)
    not_passing = failed + errors
    more = _needed(target, ran, passed)
    kinds = [f"{format_number(n)} {what}" for n, what in ((failed, "failed"), (errors, "errored")) if n]
    what = (
        f"the {plural(not_passing, 'test')} that did not pass"
        if more >= not_passing
        else (f"{format_number(more)} of the {plural(not_passing, 'test')} that did not pass")
    )
    names = _test_names(facts, ("failed", "error"))
    return f"fix {what} ({', '.join(kinds)}){names}"


def _test_names(facts: _Facts, outcomes: Sequence[str], *, flaky: bool = False) -> str:
    cases = [case for case in facts.tests if (case.flaky if flaky else case.outcome.value in outcomes)]
    if not cases:
        return ""
    names = [f"{case.classname}.{case.name}" if case.classname else case.name for case in cases]
    shown = names[:_TESTS_NAMED]
    rest = len(names) - len(shown) + (facts.tests_omitted if not flaky else 0)
    more = f" and {rest} more (see the test report)" if rest > 0 else ""
    return ": " + ", ".join(shown) + more


_SEVERITIES = ("critical", "high", "medium", "low", "info")


def _finding_list(facts: _Facts, severity: str | None) -> str:
    found = [f for f in facts.findings if severity is None or f.severity.value == severity]
    if not found:
        return " (see the scan report)"
    shown = []
    for finding in found[:_NAMED]:
        at = f"{finding.path}:{finding.line}" if finding.line is not None else finding.path
        shown.append(f"{finding.tool} {finding.rule} at {at}")
    rest = len(found) - len(shown) + (facts.findings_omitted if severity is None else 0)
    more = f" and {rest} more (see the verdict's details)" if rest > 0 else ""
    return ": " + ", ".join(shown) + more


def _lower(metric: str, actual: float, target: float, facts: _Facts) -> str:
    excess = actual - target
    family, _, kind = metric.partition(".")
    if family == "findings" and kind in (*_SEVERITIES, "total"):
        severity = None if kind == "total" else kind
        noun = "finding" if severity is None else f"{severity} finding"
        count = plural(actual, noun)
        what = f"the {count}" if target <= 0 else f"{format_number(excess)} of the {count}"
        return f"fix or waive {what} (a waiver needs a reason, an owner and an expiry){_finding_list(facts, severity)}"
    if metric in ("tests.failed", "tests.errors"):
        outcome = "failed" if metric == "tests.failed" else "error"
        count = plural(actual, "failed test" if outcome == "failed" else "errored test")
        what = f"the {count}" if target <= 0 else f"{format_number(excess)} of the {count}"
        return f"fix {what}{_test_names(facts, (outcome,))}"
    if metric == "tests.flaky":
        what = f"the {plural(actual, 'flaky test')}" if target <= 0 else plural(excess, "flaky test")
        return f"make {what} pass on the first run{_test_names(facts, (), flaky=True)}"
    if metric.endswith("_seconds"):
        return f"{_label(metric)} must drop by {_duration(excess)} (to at most {_duration(target)})"
    return f"{_label(metric)} must fall by {_amount(metric, excess)} (to at most {_show(metric, target)})"


def _above(metric: str, actual: float, minimum: float, facts: _Facts) -> str:
    """How far a value held by a minimum may fall before the gate fails."""
    if _unit(metric) != "%" and not metric.endswith("_seconds") and minimum <= 0:
        return f"holds whenever a report gives {metric}"
    room = actual - minimum
    if room <= 1e-9:
        if metric == "tests.pass_percent":
            return "every test that ran passed: one failure fails it"
        return f"{_label(metric)} is at the minimum {_show(metric, minimum)}: any drop fails it"
    parts = _parts(metric)
    if parts is not None and parts[0] in facts.metrics and parts[1] in facts.metrics:
        covered, total = facts.metrics[parts[0]], facts.metrics[parts[1]]
        spare = covered - math.ceil(minimum * total / 100 - 1e-9)
        nouns = "covered lines" if parts[2] == "line" else "covered branches"
        covered_noun = plural(spare, f"covered {parts[2]}", nouns)
        return (
            f"{_label(metric)} may fall {_amount(metric, room)} ({covered_noun}) "
            f"to the minimum {_show(metric, minimum)}"
        )
    return f"{_label(metric)} may fall {_amount(metric, room)} to the minimum {_show(metric, minimum)}"


def _below(metric: str, actual: float, maximum: float) -> str:
    """How far a value held by a maximum may rise before the gate fails."""
    room = maximum - actual
    if room <= 1e-9:
        one = "one more" if _unit(metric) == "" and not metric.endswith("_seconds") else "any rise"
        return f"{_label(metric)} at the maximum {_show(metric, maximum)}: {one} fails it"
    return f"{_label(metric)} may rise {_amount(metric, room)} to the maximum {_show(metric, maximum)}"


def _ratchet(metric: str, actual: float, condition: Ratchet, facts: _Facts) -> _Node:
    """A metric against its baseline value: how far it may still fall (rise), or must recover."""
    before = facts.baseline_values.get(metric)
    if before is None:
        where = f"on {facts.baseline_branch}" if facts.baseline_branch else "on the policy's baseline branch"
        return _Node(
            None,
            missing=[
                (
                    f"no baseline {metric} to compare with: record a verdict of this project {where} "
                    "(or give `check --baseline VERDICT.json`)",
                    None,
                )
            ],
        )
    decrease, allowed = condition.decrease, condition.allowed
    limit = before - allowed if decrease else before + allowed
    room = actual - limit if decrease else limit - actual
    way = "less" if decrease else "plus"
    against = f"the baseline {_show(metric, before)} {way} the {_amount(metric, allowed)} allowed"
    if room >= -1e-9:
        if room <= 1e-9:
            at = f"{_label(metric)} at the limit {_show(metric, limit)} ({against})"
            return _Node(True, margins=[f"{at}: any further move fails it"])
        direction = "fall" if decrease else "rise"
        still = f"{_label(metric)} may still {direction} {_amount(metric, room)}"
        return _Node(True, margins=[f"{still} (to {_show(metric, limit)}: {against})"])
    if decrease:
        fix = f"{_label(metric)} must recover {_amount(metric, -room)} (to at least {_show(metric, limit)}: {against})"
        parts = _parts(metric)
        if parts is not None and parts[0] in facts.metrics and parts[1] in facts.metrics:
            more = _needed(limit, facts.metrics[parts[1]], facts.metrics[parts[0]])
            nouns = "more covered lines" if parts[2] == "line" else "more covered branches"
            fix += f", about {plural(more, f'more covered {parts[2]}', nouns)}"
        return _Node(False, fixes=[fix])
    if metric.startswith("findings."):
        fix = _lower(metric, actual, limit, facts)
        return _Node(False, fixes=[f"{fix} ({against})"])
    fix = f"{_label(metric)} must come down {_amount(metric, -room)} (to at most {_show(metric, limit)}: {against})"
    return _Node(False, fixes=[fix])


_PROVIDERS = {
    "tests": "add a test report (JUnit XML: pytest --junitxml, Maven Surefire, Gradle, Jest, go-junit-report …)",
    "coverage.lines": "add a coverage report (Cobertura, JaCoCo, LCOV, coverage.py, Clover, Go coverprofile …)",
    "coverage.branches": (
        "add a coverage report with branch data (coverage.py run --branch, JaCoCo, Cobertura, LCOV with BRDA records)"
    ),
    "findings": "add a security scan report (SARIF, bandit, semgrep, gitleaks, GitLab security report …)",
    "pipeline": (
        "give the pipeline's start time: `check --pipeline-started-at` (e.g. Jenkins' currentBuild.startTimeInMillis); "
        "GitLab's CI_PIPELINE_CREATED_AT is read by itself"
    ),
    "trace": (
        "run `check` in the project's git clone: the commits of the change (or since the branch's last verdict, "
        "or HEAD) are read there"
    ),
}


def _provider(metric: str, facts: _Facts) -> str:
    """Which report would give an absent metric."""
    metrics = facts.metrics
    if metric in NEW_CODE_METRICS and "change.files" not in metrics:
        return (
            "judge a change: `check --diff-base REF` (found by itself in GitLab, GitHub and Jenkins merge-request "
            "pipelines) or `--diff-file PATH`; without one the new-code gates have nothing to judge"
        )
    if metric == "tests.new_failures" and "tests.total" in metrics:
        where = f"on {facts.baseline_branch}" if facts.baseline_branch else "on the policy's baseline branch"
        return (
            f"record a verdict of this project {where} (its failing tests are the baseline), "
            "or give `check --baseline VERDICT.json`"
        )
    if metric == "tests.pass_percent" and "tests.total" in metrics:
        total = metrics["tests.total"]
        if total == 0:
            return "no test ran: the test reports hold no test cases"
        return f"no test ran: all {plural(total, 'test')} in the reports were skipped"
    if metric.startswith("coverage.branches.") and "coverage.lines.total" in metrics:
        provider = _PROVIDERS["coverage.branches"].replace("add a coverage", "use a coverage")
        return f"the coverage reports have no branch data; {provider}"
    for prefix, provider in _PROVIDERS.items():
        if metric.startswith(prefix + "."):
            return provider
    return "add a report that gives it (see `gatekeeper metrics`)"


def _missing(missing: Sequence[tuple[str, str | None]]) -> list[str]:
    """One piece of advice per kind of report: "for findings.critical and findings.high, add a scan …"."""
    by_hint: dict[str, list[str]] = {}
    for hint, metric in missing:
        names = by_hint.setdefault(hint, [])
        if metric is not None and metric not in names:
            names.append(metric)
    return [f"for {' and '.join(names)}, {hint}" if names else hint for hint, names in by_hint.items()]


def _where_it_applies(patterns: Sequence[str]) -> str:
    includes = [p for p in patterns if not p.startswith("!")]
    excludes = [p[1:] for p in patterns if p.startswith("!")]
    text = "on branches " + ", ".join(includes) if includes else "on every branch"
    if excludes:
        text += " except " + ", ".join(excludes)
    return text


# --- rendering -------------------------------------------------------------------------------------


_FROM_V1 = (
    "a gatekeeper.verdict/v1 verdict, whose policy file with the same digest is not at hand: "
    "conditions read back from its gate messages"
)


def _title(explanation: Explanation) -> str:
    where = f" on branch {explanation.branch}" if explanation.branch else ""
    return f"{explanation.status.upper()}  {explanation.policy or 'no policy'}{where}: {explanation.reason}"


def _maturity_lines(explanation: Explanation) -> list[str]:
    if explanation.model is None:
        return ["no maturity model: the policy names none, so no level is assessed"]
    if not explanation.levels:
        why = "the run could not decide" if explanation.status == "error" else "no packs for this model"
        return [f"{explanation.model}: no level assessed ({why})"]
    top = max(entry.level for entry in explanation.levels)
    enforced = f"; the policy enforces level {explanation.level}" if explanation.level is not None else ""
    reached = level_reached(explanation.level_achieved, explanation.levels)
    lines = [f"{explanation.model} (levels 1-{top}): {reached}{enforced}"]
    for entry in explanation.levels:
        held = f", held back by {', '.join(entry.blocking_gates)}" if entry.blocking_gates else ""
        lines.append(f"level {entry.level}: {entry.status}{held}")
    return lines


def render_text(explanation: Explanation) -> str:
    lines = [_title(explanation), ""]
    if explanation.status == "error":
        lines += ["the gate could not decide: fix the input named above and run `check` again", ""]
    for gate in explanation.gates:
        lines += _gate_text(gate, "")
    if explanation.expired_waivers:
        lines.append("expired waivers (no longer applied):")
        lines += [f"  - {waiver}" for waiver in explanation.expired_waivers]
        lines.append("")
    lines.append("maturity")
    lines += [f"  {line}" for line in _maturity_lines(explanation)]
    if explanation.next_level is not None:
        lines += ["", f"to reach level {explanation.next_level}:"]
        for gate in explanation.next_level_gates:
            lines += _gate_text(gate, "  ")
    elif explanation.level_achieved is not None and explanation.levels:
        lines += ["  the highest level of the model is achieved"]
    if explanation.conditions_from == "v1 messages" and explanation.gates:
        lines += ["", f"({_FROM_V1})"]
    # Each line is made terminal-safe whole: names and messages from reports cannot break or colour it.
    return "\n".join(terminal(line) for line in lines).rstrip("\n") + "\n"


def _gate_text(gate: GateExplanation, indent: str) -> list[str]:
    severity = "" if gate.severity is GateSeverity.BLOCK else " (warning gate)"
    lines = [f"{indent}{gate.status.value.upper():<5} {gate.id}{severity}", f"{indent}      {gate.why}"]
    lines += [f"{indent}      {gate.label}: {advice}" for advice in gate.advice]
    return [*lines, ""]


def render_markdown(explanation: Explanation) -> str:
    lines = [f"## {md_text(_title(explanation))}", ""]
    if explanation.status == "error":
        lines += ["The gate could not decide: fix the input named above and run `check` again.", ""]
    for gate in explanation.gates:
        lines += _gate_markdown(gate)
    if explanation.expired_waivers:
        lines += ["", "### Expired waivers (no longer applied)", ""]
        lines += [f"- {md_text(waiver)}" for waiver in explanation.expired_waivers]
    lines += ["", "### Maturity", ""]
    lines += [f"- {md_text(line)}" for line in _maturity_lines(explanation)]
    if explanation.next_level is not None:
        lines += ["", f"### To reach level {explanation.next_level}", ""]
        for gate in explanation.next_level_gates:
            lines += _gate_markdown(gate)
    if explanation.conditions_from == "v1 messages" and explanation.gates:
        lines += ["", f"_{md_text(_FROM_V1)}_"]
    return "\n".join(lines).rstrip("\n") + "\n"


def _gate_markdown(gate: GateExplanation) -> list[str]:
    severity = "" if gate.severity is GateSeverity.BLOCK else " (warning gate)"
    lines = [f"- **{gate.status.value.upper()}** {md_code(gate.id)}{severity}: {md_text(gate.why)}"]
    lines += [f"  - {gate.label}: {md_text(advice)}" for advice in gate.advice]
    return lines
