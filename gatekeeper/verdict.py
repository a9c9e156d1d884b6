"""The verdict: one JSON document per run, the contract every output, store and page reads.

Validated by schemas/verdict.schema.json.  Apart from `id`, `created_at` and `duration_ms`, the same
inputs give the same verdict, byte for byte.

Its size is bounded whatever the reports hold, so the store server's default body limit (1 MiB) always
takes it: each report-sized list (inputs, failed tests, findings) keeps its first LIST_LIMIT entries and
counts the rest (`inputs_omitted` sums the counts of the reports left out), strings from reports are cut
(NAME_LIMIT, TEXT_LIMIT), and if the JSON is still over MAX_BYTES the lists are halved until it fits.
Metrics and gates are never cut: the decision and its figures are always whole.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from gatekeeper import __version__, verdict_v1
from gatekeeper import metrics as metric_names
from gatekeeper.context import Context
from gatekeeper.engine import Baseline, Decision, GateResult, GateStatus, Maturity, Outcome
from gatekeeper.model import Finding, ReportInput, Severity, TestCase
from gatekeeper.policy import (
    Comparison,
    Condition,
    GateSeverity,
    Group,
    IfAbsent,
    Operator,
    Policy,
    Ratchet,
    RatchetOperator,
    Waiver,
    assert_never,
)
from gatekeeper.waivers import WaiverUse

SCHEMA = "gatekeeper.verdict/v2"
SCHEMA_V1 = "gatekeeper.verdict/v1"  # read, never written: its gates carry no condition
LIST_LIMIT = 100  # reports, failed tests and findings listed in full; the rest are counted
NOTE_LIMIT = 10  # notes listed per report; the rest are counted in a last note
NAME_LIMIT = 300  # characters kept of a path, a name, a rule or a fingerprint from a report
TEXT_LIMIT = 1000  # characters kept of a message, a note or the reason
MAX_BYTES = 768 * 1024  # the compact JSON's bound, under the store server's 1 MiB default body limit
_SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(Severity)}

Verdict = dict[str, Any]


def new_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build(
    *,
    outcome: Outcome,
    policy: Policy,
    context: Context,
    inputs: Sequence[ReportInput],
    duration_ms: int,
    verdict_id: str | None = None,
    created_at: str | None = None,
) -> Verdict:
    """The verdict document of a decided run."""
    findings = sorted(outcome.waivers.kept, key=lambda f: (_SEVERITY_ORDER[f.severity], f.path, f.line or 0))
    failed_tests = [case for report in inputs if report.evidence.tests for case in report.evidence.tests.notable]
    head: Verdict = {
        "schema": SCHEMA,
        "id": verdict_id or new_id(),
        "status": outcome.status.value,
        "reason": _text(outcome.reason, TEXT_LIMIT),
        "created_at": created_at or now_utc(),
        "tool": {"name": "gatekeeper", "version": __version__},
        "policy": _policy(policy),
        "maturity": _maturity(outcome.maturity),
        "baseline": _baseline(outcome.baseline),
        "context": _context(context),
        "metrics": dict(outcome.metrics),
        "gates": [_gate(gate) for gate in outcome.gates],
    }
    waivers = {
        "applied": [_waiver_use(use) for use in outcome.waivers.applied],
        "expired": [_waiver_use(use) for use in outcome.waivers.expired],
    }
    return _fitted(head, inputs, waivers, failed_tests, findings, duration_ms)


def build_error(
    *,
    problem: str,
    policy: Policy | None,
    context: Context,
    inputs: Sequence[ReportInput],
    duration_ms: int,
    verdict_id: str | None = None,
    created_at: str | None = None,
) -> Verdict:
    """The verdict of a run that could not decide (bad or missing input).

    It is recorded all the same, so that nobody reads silence as a pass.
    """
    head: Verdict = {
        "schema": SCHEMA,
        "id": verdict_id or new_id(),
        "status": Decision.ERROR.value,
        "reason": _text(problem, TEXT_LIMIT),
        "created_at": created_at or now_utc(),
        "tool": {"name": "gatekeeper", "version": __version__},
        "policy": _policy(policy)
        if policy
        else {"name": None, "digest": None, "path": None, "files": [], "baseline_branch": None},
        "maturity": {
            "model": policy.model if policy else None,
            "level": policy.level if policy else None,
            "level_achieved": None,
            "levels": [],
        },
        "baseline": None,
        "context": _context(context),
        "metrics": {},
        "gates": [],
    }
    return _fitted(head, inputs, {"applied": [], "expired": []}, [], [], duration_ms)


def _fitted(
    head: Verdict,
    inputs: Sequence[ReportInput],
    waivers: dict[str, Any],
    tests: Sequence[TestCase],
    findings: Sequence[Finding],
    duration_ms: int,
) -> Verdict:
    """`head` and the report-sized parts, each list cut to its first `limit` entries (the rest counted):
    LIST_LIMIT, halved while the JSON is over MAX_BYTES (only pathological reports come to that)."""
    counts = [input_counts(report) for report in inputs]
    limit = LIST_LIMIT
    while True:
        verdict = {
            **head,
            "inputs": [
                _input(report, tally, limit) for report, tally in zip(inputs[:limit], counts[:limit], strict=True)
            ],
            **_inputs_omitted(inputs[limit:], counts[limit:]),
            "waivers": waivers,
            "details": {
                "tests": [_test_case(case) for case in tests[:limit]],
                "tests_omitted": max(len(tests) - limit, 0),
                "findings": [_finding(finding) for finding in findings[:limit]],
                "findings_omitted": max(len(findings) - limit, 0),
            },
            "duration_ms": duration_ms,
        }
        if limit == 0 or _size(verdict) <= MAX_BYTES:
            return verdict
        limit //= 2


def _gate(gate: GateResult) -> dict[str, Any]:
    """A gate record: the result, then (v2) its condition as the effective policy stated it."""
    assert gate.condition is not None, "the engine records every gate's condition"
    return {
        "id": gate.id,
        "criterion": gate.criterion,
        "metric": gate.metric,
        "operator": gate.operator.value if gate.operator is not None else "",
        "threshold": gate.threshold,
        "actual": gate.actual,
        "status": gate.status.value,
        "severity": gate.severity.value,
        "message": gate.message,
        **({"baseline": gate.baseline} if gate.baseline is not None else {}),
        "condition": condition_json(gate.condition, dict(gate.baselines)),
        "if_absent": gate.if_absent.value,
        **({"when": {"branch": list(gate.branches)}} if gate.branches else {}),
    }


def condition_json(condition: Condition, baselines: dict[str, float | None]) -> dict[str, Any]:
    """A condition as the policy keys that state it; a ratchet adds the baseline value it compared with."""
    if isinstance(condition, Group):
        return {condition.operator.value: [condition_json(child, baselines) for child in condition.conditions]}
    if isinstance(condition, Ratchet):
        return {
            "metric": condition.metric,
            condition.operator.value: condition.allowed,
            "baseline": baselines.get(condition.metric),
        }
    if isinstance(condition, Comparison):
        bounds = {"min": condition.min, "max": condition.max, "equals": condition.equals}
        return {"metric": condition.metric, **{key: value for key, value in bounds.items() if value is not None}}
    assert_never(condition)


def condition_from_json(document: Mapping[str, Any], baselines: dict[str, float | None]) -> Condition:
    """A v2 gate record's condition (schema-valid); each ratchet's baseline value goes to `baselines`."""
    for operator in (Operator.ALL, Operator.ANY):
        if operator.value in document:
            children = tuple(condition_from_json(child, baselines) for child in document[operator.value])
            return Group(operator=operator, conditions=children)
    ratchets: tuple[RatchetOperator, ...] = (Operator.MAX_DECREASE, Operator.MAX_INCREASE)
    for ratchet in ratchets:
        if ratchet.value in document:
            baselines.setdefault(document["metric"], document["baseline"])
            return Ratchet(metric=document["metric"], operator=ratchet, allowed=document[ratchet.value])
    return Comparison(
        metric=document["metric"], min=document.get("min"), max=document.get("max"), equals=document.get("equals")
    )


def gate_from_json(record: Mapping[str, Any]) -> GateResult:
    """A gate record of a schema-valid verdict, v2 (its condition is data) or v1 (read back from the
    message by the frozen v1 reader, `verdict_v1`)."""
    operator = Operator(record["operator"]) if record["operator"] else None
    baselines: dict[str, float | None] = {}
    if record.get("baseline") is not None:
        baselines[record["metric"]] = record["baseline"]
    if "condition" in record:
        condition: Condition | None = condition_from_json(record["condition"], baselines)
        if_absent = IfAbsent(record["if_absent"])
        branches = tuple(record["when"]["branch"]) if "when" in record else ()
    else:
        condition = verdict_v1.condition(record["metric"], operator, record["threshold"], record["message"], baselines)
        if_absent = IfAbsent.FAIL  # v1 does not record it
        branches = verdict_v1.branches(record["message"])
    return GateResult(
        id=record["id"],
        criterion=record["criterion"],
        metric=record["metric"],
        operator=operator,
        threshold=record["threshold"],
        actual=record["actual"],
        status=GateStatus(record["status"]),
        severity=GateSeverity(record["severity"]),
        message=record["message"],
        baseline=record.get("baseline"),
        condition=condition,
        if_absent=if_absent,
        branches=branches,
        baselines=tuple(baselines.items()),
    )


def input_counts(report: ReportInput) -> dict[str, Any]:
    """The headline counts of one report on its own (a verdict's `inputs[].counts`, `gatekeeper metrics`)."""
    return {name: value for name, value in metric_names.compute(report.evidence).items() if name in _INPUT_COUNTS}


_INPUT_COUNTS = ("tests.total", "tests.failed", "tests.errors", "coverage.lines.total", "findings.total")


def _inputs_omitted(reports: Sequence[ReportInput], counts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`inputs_omitted` for the reports not listed: how many, of which formats, and their counts summed."""
    if not reports:
        return {}
    totals: dict[str, Any] = {}
    formats: dict[str, int] = {}
    for report, tally in zip(reports, counts, strict=True):
        formats[report.format] = formats.get(report.format, 0) + 1
        for name, value in tally.items():
            totals[name] = totals.get(name, 0) + value
    return {"inputs_omitted": {"count": len(reports), "formats": formats, "counts": totals}}


def _size(verdict: Verdict) -> int:
    """Bytes of the compact UTF-8 JSON an upload sends (key order does not change the size)."""
    text = json.dumps(verdict, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def _text(value: str, limit: int, *, keep_end: bool = False) -> str:
    """At most `limit` characters (a cut marked with …; a path keeps its end, the file's name), and
    valid Unicode: a lone surrogate (from a JSON report's escape) becomes U+FFFD, which every sink takes."""
    if len(value) > limit:
        value = "…" + value[1 - limit :] if keep_end else value[: limit - 1] + "…"
    if not value.isascii():
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _context(context: Context) -> dict[str, str | None]:
    """The CI context, as valid Unicode: a variable with bytes that are not UTF-8 reaches Python as lone
    surrogates, which no UTF-8 sink (the upload, the spool, a file) can write."""
    return {key: value if value is None else _text(value, len(value)) for key, value in context.as_dict().items()}


def _maturity(maturity: Maturity) -> dict[str, Any]:
    return {
        "model": maturity.model,
        "level": maturity.level,
        "level_achieved": maturity.level_achieved,
        "levels": [
            {"level": r.level, "status": r.status.value, "blocking_gates": list(r.blocking_gates)}
            for r in maturity.levels
        ],
    }


def _baseline(baseline: Baseline | None) -> dict[str, Any] | None:
    if baseline is None:
        return None
    return {
        "id": baseline.verdict_id,
        "source": baseline.source,
        "branch": baseline.branch,
        "created_at": baseline.created_at,
    }


def _policy(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "digest": policy.digest,
        "path": policy.path,
        "files": list(policy.chain),
        "baseline_branch": policy.baseline_branch,
    }


def _input(report: ReportInput, counts: dict[str, Any], limit: int) -> dict[str, Any]:
    notes = report.evidence.notes
    shown = min(NOTE_LIMIT, limit)
    return {
        "path": _text(report.path, NAME_LIMIT, keep_end=True),
        "format": report.format,
        "sha256": report.sha256,
        "counts": counts,
        "notes": [_text(note, TEXT_LIMIT) for note in notes[:shown]]
        + ([f"… and {len(notes) - shown} more notes"] if len(notes) > shown else []),
    }


def _waiver(waiver: Waiver) -> dict[str, Any]:
    return {
        "match": waiver.match(),
        "reason": waiver.reason,
        "owner": waiver.owner or None,
        "expires": waiver.expires.isoformat() if waiver.expires else None,
        "source": waiver.source,
    }


def _waiver_use(use: WaiverUse) -> dict[str, Any]:
    return {**_waiver(use.waiver), "findings": use.findings}


def _test_case(case: TestCase) -> dict[str, Any]:
    return {
        "suite": _text(case.suite, NAME_LIMIT),
        "classname": _text(case.classname, NAME_LIMIT),
        "name": _text(case.name, NAME_LIMIT),
        "outcome": case.outcome.value,
        "flaky": case.flaky,
        "duration_seconds": case.duration_seconds,
        "message": _text(case.message, TEXT_LIMIT),
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "tool": _text(finding.tool, NAME_LIMIT),
        "rule": _text(finding.rule, NAME_LIMIT),
        "severity": finding.severity.value,
        "path": _text(finding.path, NAME_LIMIT, keep_end=True),
        "line": finding.line,
        "message": _text(finding.message, TEXT_LIMIT // 2),
        "fingerprint": _text(finding.fingerprint, NAME_LIMIT),
    }


def dumps(verdict: Verdict) -> str:
    """The verdict as pretty JSON (stable key order as built)."""
    return json.dumps(verdict, indent=2, ensure_ascii=False) + "\n"
