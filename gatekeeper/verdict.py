"""The verdict: one per run, the contract every output, store and page reads.

In code it is typed (`Verdict` and its records, frozen); as JSON (`Verdict.to_json()`, and `parse()` /
`Verdict.from_json()` of a document validated by schemas/verdict.schema.json, v1 or v2) it exists only
at the edges: files, stores, uploads.  The engine's verdict is gatekeeper.verdict/v2: each gate records
its condition as data.  Apart from `id`, `created_at` and `duration_ms`, the same inputs give the same
verdict, byte for byte.

Its size is bounded whatever the reports hold, so the store server's default body limit (1 MiB) always
takes it: each report-sized list (inputs, failed tests, findings) keeps its first LIST_LIMIT entries and
counts the rest (`inputs_omitted` sums the counts of the reports left out), strings from reports are cut
(NAME_LIMIT, TEXT_LIMIT), and if the JSON is still over MAX_BYTES the lists are halved until it fits.
Metrics and gates are never cut: the decision and its figures are always whole.
"""

from __future__ import annotations

import functools
import heapq
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from gatekeeper import __version__
from gatekeeper.context import Context
from gatekeeper.engine import Decision, GateResult, GateStatus
from gatekeeper.errors import InputError
from gatekeeper.known import KeySet, case_key, content_key
from gatekeeper.metrics import input_counts
from gatekeeper.model import Finding, ReportInput, Severity, Suppression, TestCase, case_id, finding_order
from gatekeeper.model import Outcome as TestOutcome
from gatekeeper.policy import (
    Comparison,
    Condition,
    GateSeverity,
    Group,
    IfAbsent,
    Operator,
    Ratchet,
    RatchetOperator,
    assert_never,
)
from gatekeeper.trace import TracedCommit

if TYPE_CHECKING:  # what a run judges only where a feature is on, imported where it is (issue 16)
    from gatekeeper.engine import Baseline, Maturity, Outcome
    from gatekeeper.flaky import FlakyHistory
    from gatekeeper.newcode import FileNewCode, NewCode
    from gatekeeper.policy import Policy, Waiver
    from gatekeeper.quarantine import QuarantineOutcome, QuarantineUse
    from gatekeeper.trace import Trace
    from gatekeeper.verdict_sections import (
        BaselineRecord,
        ChangedFileRecord,
        ChangeRecord,
        PartRecord,
        PipelineRecord,
        QuarantineRecord,
        Quarantines,
        WaiverRecord,
    )
    from gatekeeper.waivers import WaiverUse

SCHEMA = "gatekeeper.verdict/v2"
SCHEMA_V1 = "gatekeeper.verdict/v1"  # read, never written: its gates carry no condition
RANGE_LIMIT = 50  # ranges of uncovered changed lines listed per file; the lines past them are counted
LIST_LIMIT = 100  # reports, failed tests and findings listed in full; the rest are counted
NOTE_LIMIT = 10  # notes listed per report; the rest are counted in a last note
NAME_LIMIT = 300  # characters kept of a path, a name, a rule or a fingerprint from a report
TEXT_LIMIT = 1000  # characters kept of a message, a note or the reason
KEY_LIMIT = 1000  # requirement keys listed of a change (trace.keys) and of each source
MAX_BYTES = 768 * 1024  # the compact JSON's bound, under the store server's 1 MiB default body limit
_TOOL_NAME = "gatekeeper"


def new_id() -> str:
    return str(uuid.uuid4())


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- the typed verdict ------------------------------------------------------------------------------
#
# Every reader takes these; JSON exists only at the edges: `Verdict.to_json()` (what is written, stored
# and uploaded) and `Verdict.from_json()` (a document already validated by schemas/verdict.schema.json,
# v1 or v2).  A document the engine wrote comes back byte for byte: to_json(from_json(d)) == d.  An
# optional member another writer left out reads as None (or empty) and is written out as such.

#: A gate record of a verdict is the engine's gate result (the same fields, v2's condition included).
GateRecord = GateResult


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    name: str
    version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRecord:
    """The effective policy a verdict was decided by; all None in a run that had none."""

    name: str | None
    digest: str | None
    path: str | None = None
    files: tuple[str, ...] = ()
    baseline_branch: str | None = None  # v2; None in v1


@dataclass(frozen=True, slots=True, kw_only=True)
class LevelRecord:
    level: int
    status: Decision
    blocking_gates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MaturityRecord:
    model: str | None
    level: int | None
    level_achieved: int | None
    levels: tuple[LevelRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InputRecord:
    path: str
    format: str
    sha256: str
    counts: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InputsOmitted:
    """The reports past the verdict's size bound: how many, of which formats, their counts summed."""

    count: int
    formats: Mapping[str, int] = field(default_factory=dict)
    counts: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Waivers:
    applied: tuple[WaiverRecord, ...] = ()
    expired: tuple[WaiverRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TestRecord:
    name: str
    outcome: TestOutcome
    suite: str = ""
    classname: str = ""
    flaky: bool = False
    duration_seconds: float | None = None
    message: str = ""
    attempts: int = 1  # how often the report ran it (re-runs); written when more than once
    quarantine: str | None = None  # the glob of the quarantine entry that keeps its failure from blocking
    history: FlakyHistory | None = None  # its record in the store, where it failed and passed on one commit


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingRecord:
    tool: str
    rule: str
    severity: Severity
    path: str
    line: int | None = None
    message: str = ""
    fingerprint: str = ""
    #: Set on a finding its tool suppressed (SARIF): where the suppression lives and its justification.
    suppression: Suppression | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Details:
    tests: tuple[TestRecord, ...] = ()
    tests_omitted: int = 0
    findings: tuple[FindingRecord, ...] = ()
    findings_omitted: int = 0
    #: Findings the tool suppressed (counted in findings.waived), each with its suppression; v2, optional.
    suppressed: tuple[FindingRecord, ...] = ()
    suppressed_omitted: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceRecord:
    """The requirement keys of the change (v2, optional): per counted commit, those without a key first;
    `commits` None when no git history was read (the trace metrics are absent then)."""

    pattern: str
    range: str | None = None
    commits: tuple[TracedCommit, ...] | None = None
    commits_omitted: int = 0
    keys: tuple[str, ...] = ()
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineKeys:
    """Every finding's and failing test's key as a short digest (gatekeeper.known), for the runs that take
    this verdict as their baseline to tell what is new; a kind is None when no report of it was read."""

    findings: KeySet | None = None
    failed_tests: KeySet | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """One run of the gate: what it read, what it decided and why (schemas/verdict.schema.json)."""

    schema: str
    id: str
    status: Decision
    reason: str
    created_at: str
    tool: Tool
    policy: PolicyRecord
    maturity: MaturityRecord
    context: Context
    metrics: Mapping[str, float]
    gates: tuple[GateRecord, ...]
    inputs: tuple[InputRecord, ...]
    waivers: Waivers
    duration_ms: int
    baseline: BaselineRecord | None = None
    inputs_omitted: InputsOmitted | None = None
    details: Details | None = None
    change: ChangeRecord | None = None  # v2: the change the new-code metrics judged
    baseline_keys: BaselineKeys | None = None  # v2: what a later run compares with to tell new from known
    #: The policy's quarantine entries that applied or expired; None when the policy has none.
    quarantine: Quarantines | None = None
    #: v2: a pipeline-final's parts (`check --pipeline-final`); None for a verdict of one job.
    pipeline: PipelineRecord | None = None
    #: v2: the requirement keys of the change's commits, branch and title; None when none were looked for.
    trace: TraceRecord | None = None

    def to_json(self) -> dict[str, Any]:
        """The document (key order as v2 writes it): what is written, stored and uploaded."""
        return _verdict_json(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Verdict:
        """A verdict from a document schemas/verdict.schema.json accepts (v1 or v2): validate first."""
        return _verdict_from_json(document)


_TOOL = Tool(name=_TOOL_NAME, version=__version__)


def build(
    *,
    outcome: Outcome,
    policy: Policy,
    context: Context,
    inputs: Sequence[ReportInput],
    duration_ms: int,
    verdict_id: str | None = None,
    created_at: str | None = None,
    histories: Mapping[str, FlakyHistory] | None = None,
    pipeline: PipelineRecord | None = None,
    trace: Trace | None = None,
) -> Verdict:
    """The verdict of a decided run; `histories` (by test id) add the store's flaky record to listed tests;
    `pipeline`, the parts a pipeline-final merged; `trace`, the requirement keys of the change."""
    # Only the first LIST_LIMIT are listed: nsmallest is sorted()[:n] (stable too), without sorting 100,000.
    findings = heapq.nsmallest(LIST_LIMIT, outcome.waivers.kept, key=finding_order)
    suppressed_all = [f for f in outcome.waivers.waived if f.suppression is not None]
    suppressed = heapq.nsmallest(LIST_LIMIT, suppressed_all, key=finding_order)
    failed_tests = [case for report in inputs if report.evidence.tests for case in report.evidence.tests.notable]
    head = Verdict(
        schema=SCHEMA,
        id=verdict_id or new_id(),
        status=outcome.status,
        reason=_text(outcome.reason, TEXT_LIMIT),
        created_at=created_at or now_utc(),
        tool=_TOOL,
        policy=_policy(policy),
        maturity=_maturity(outcome.maturity),
        baseline=_baseline(outcome.baseline),
        change=None if outcome.new_code is None else _change(outcome.new_code),
        baseline_keys=_baseline_keys(outcome, inputs),
        context=_context(context),
        metrics=dict(outcome.metrics),
        gates=outcome.gates,
        inputs=(),
        waivers=Waivers(
            applied=tuple(_waiver_use(use) for use in outcome.waivers.applied),
            expired=tuple(_waiver_use(use) for use in outcome.waivers.expired),
        ),
        duration_ms=duration_ms,
        quarantine=None if outcome.quarantine is None else _quarantines(outcome.quarantine),
        pipeline=pipeline,
        trace=None if trace is None else _trace(trace),
    )
    covered = {} if outcome.quarantine is None else {case: entry.test for case, entry in outcome.quarantine.quarantined}
    known = histories or {}

    def record(case: TestCase) -> TestRecord:
        test = case_id(case.classname, case.name)
        return replace(_test_case(case), quarantine=covered.get(case), history=known.get(test))

    totals = (len(outcome.waivers.kept), len(suppressed_all))
    return _fitted(head, inputs, failed_tests, findings, suppressed, record, totals=totals)


def build_error(
    *,
    problem: str,
    policy: Policy | None,
    context: Context,
    inputs: Sequence[ReportInput],
    duration_ms: int,
    verdict_id: str | None = None,
    created_at: str | None = None,
    pipeline: PipelineRecord | None = None,
) -> Verdict:
    """The verdict of a run that could not decide (bad or missing input, a pipeline's missing parts).

    It is recorded all the same, so that nobody reads silence as a pass.
    """
    head = Verdict(
        schema=SCHEMA,
        id=verdict_id or new_id(),
        status=Decision.ERROR,
        reason=_text(problem, TEXT_LIMIT),
        created_at=created_at or now_utc(),
        tool=_TOOL,
        policy=_policy(policy) if policy else PolicyRecord(name=None, digest=None),
        maturity=MaturityRecord(
            model=policy.model if policy else None, level=policy.level if policy else None, level_achieved=None
        ),
        context=_context(context),
        metrics={},
        gates=(),
        inputs=(),
        waivers=Waivers(),
        duration_ms=duration_ms,
        pipeline=pipeline,
    )
    return _fitted(head, inputs, [], [], [])


def _fitted(
    head: Verdict,
    inputs: Sequence[ReportInput],
    tests: Sequence[TestCase],
    findings: Sequence[Finding],
    suppressed: Sequence[Finding],
    test_record: Callable[[TestCase], TestRecord] | None = None,
    *,
    totals: tuple[int, int] | None = None,
) -> Verdict:
    """`head` and the report-sized parts, each list cut to its first `limit` entries (the rest counted):
    LIST_LIMIT, halved while the JSON is over MAX_BYTES (only pathological reports come to that).
    `totals`: how many findings and suppressed findings there are, when the lists hold only the first."""
    findings_total, suppressed_total = totals or (len(findings), len(suppressed))
    counts = [input_counts(report) for report in inputs]
    limit = LIST_LIMIT
    while True:
        verdict = replace(
            head,
            inputs=tuple(
                _input(report, tally, limit) for report, tally in zip(inputs[:limit], counts[:limit], strict=True)
            ),
            inputs_omitted=_inputs_omitted(inputs[limit:], counts[limit:]),
            change=None if head.change is None else _cut_change(head.change, limit),
            pipeline=None if head.pipeline is None else _cut_pipeline(head.pipeline, limit),
            trace=None if head.trace is None else _cut_trace(head.trace, limit),
            details=Details(
                tests=tuple((test_record or _test_case)(case) for case in tests[:limit]),
                tests_omitted=max(len(tests) - limit, 0),
                findings=tuple(_finding(finding) for finding in findings[:limit]),
                findings_omitted=max(findings_total - limit, 0),
                suppressed=tuple(_finding(finding) for finding in suppressed[:limit]),
                suppressed_omitted=max(suppressed_total - limit, 0),
            ),
        )
        if limit == 0 or _size(verdict.to_json()) <= MAX_BYTES:
            return verdict
        limit //= 2


def _gate(gate: GateResult, *, v1: bool = False) -> dict[str, Any]:
    """A gate record: the result, then (v2) its condition as the effective policy stated it."""
    record = {
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
    }
    if v1:  # a v1 record is written back as v1 recorded it: no condition
        return record
    assert gate.condition is not None, "a v2 gate records its condition"
    return {
        **record,
        "condition": condition_json(gate.condition, dict(gate.baselines)),
        "if_absent": gate.if_absent.value,
        **({"when": {"branch": list(gate.branches)}} if gate.branches else {}),
        **({"min_new_lines": gate.min_new_lines} if gate.min_new_lines is not None else {}),
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
        from gatekeeper import verdict_v1  # (a v1 record only: issue 16)

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
        min_new_lines=record.get("min_new_lines"),
    )


def _inputs_omitted(reports: Sequence[ReportInput], counts: Sequence[dict[str, Any]]) -> InputsOmitted | None:
    """`inputs_omitted` for the reports not listed: how many, of which formats, and their counts summed."""
    if not reports:
        return None
    totals: dict[str, Any] = {}
    formats: dict[str, int] = {}
    for report, tally in zip(reports, counts, strict=True):
        formats[report.format] = formats.get(report.format, 0) + 1
        for name, value in tally.items():
            totals[name] = totals.get(name, 0) + value
    return InputsOmitted(count=len(reports), formats=formats, counts=totals)


def _size(verdict: dict[str, Any]) -> int:
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


def _context(context: Context) -> Context:
    """The CI context, as valid Unicode: a variable with bytes that are not UTF-8 reaches Python as lone
    surrogates, which no UTF-8 sink (the upload, the spool, a file) can write."""
    values = {key: value if value is None else _text(value, len(value)) for key, value in context.as_dict().items()}
    return _context_of(values)


def _context_of(values: Mapping[str, str | None]) -> Context:
    """A Context from the verdict's `context` members (an absent optional one is None)."""
    return Context(
        ci=values.get("ci"),
        project=values.get("project"),
        branch=values.get("branch"),
        commit=values.get("commit"),
        pipeline=values.get("pipeline"),
        job=values.get("job"),
        url=values.get("url"),
        started_at=values.get("started_at"),
    )


def _maturity(maturity: Maturity) -> MaturityRecord:
    return MaturityRecord(
        model=maturity.model,
        level=maturity.level,
        level_achieved=maturity.level_achieved,
        levels=tuple(
            LevelRecord(level=r.level, status=r.status, blocking_gates=r.blocking_gates) for r in maturity.levels
        ),
    )


def _change(new: NewCode) -> ChangeRecord:
    """The change as the verdict records it: every file (cut in `_fitted`), those with changed lines
    the coverage report misses first, as they are what a reviewer acts on."""
    from gatekeeper.verdict_sections import ChangeRecord

    files = sorted(new.files, key=lambda f: (not f.uncovered, f.path))
    change = new.change
    return ChangeRecord(
        source=_text(change.source, NAME_LIMIT),
        base=None if change.base is None else _text(change.base, NAME_LIMIT),
        head=None if change.head is None else _text(change.head, NAME_LIMIT),
        lines_added=change.lines_added,
        lines_removed=change.lines_removed,
        files=tuple(_changed_file(f) for f in files),
    )


def _changed_file(new: FileNewCode) -> ChangedFileRecord:
    from gatekeeper.newcode import line_ranges
    from gatekeeper.verdict_sections import ChangedFileRecord

    changed = new.changed
    missed = line_ranges(new.uncovered)
    return ChangedFileRecord(
        path=_text(changed.path, NAME_LIMIT, keep_end=True),
        status=changed.status,
        old_path=None if changed.old_path is None else _text(changed.old_path, NAME_LIMIT, keep_end=True),
        lines_added=changed.lines_added,
        lines_removed=changed.lines_removed,
        new_lines=None if new.measured is None else (new.covered.bit_count(), new.measured.bit_count()),
        new_branches=new.branches,
        uncovered=tuple(missed),
    )


def _cut_change(change: ChangeRecord, limit: int) -> ChangeRecord:
    """The first `limit` files, each with its first RANGE_LIMIT (or `limit`) ranges; the rest counted."""
    ranges = min(RANGE_LIMIT, limit)

    def cut(record: ChangedFileRecord) -> ChangedFileRecord:
        past = record.uncovered[ranges:]
        omitted = record.uncovered_omitted + sum(last - first + 1 for first, last in past)
        return replace(record, uncovered=record.uncovered[:ranges], uncovered_omitted=omitted)

    files = change.files
    return replace(
        change,
        files=tuple(cut(record) for record in files[:limit]),
        files_omitted=change.files_omitted + max(len(files) - limit, 0),
    )


def _trace(trace: Trace) -> TraceRecord:
    """The trace as the verdict records it: commits without a key first (what a reader acts on), each
    group newest first; strings cut like a report's."""
    commits = None
    if trace.commits is not None:
        ordered = sorted(trace.commits, key=lambda commit: bool(commit.keys))  # stable: git's order kept
        commits = tuple(
            TracedCommit(
                sha=_text(commit.sha, NAME_LIMIT),
                keys=tuple(_text(key, NAME_LIMIT) for key in commit.keys),
                subject=_text(commit.subject, NAME_LIMIT),
            )
            for commit in ordered
        )
    return TraceRecord(
        pattern=_text(trace.pattern, TEXT_LIMIT),
        range=None if trace.range is None else _text(trace.range, NAME_LIMIT),
        commits=commits,
        keys=tuple(_text(key, NAME_LIMIT) for key in trace.keys[:KEY_LIMIT]),
        sources={
            name: tuple(_text(key, NAME_LIMIT) for key in keys[:KEY_LIMIT]) for name, keys in trace.sources.items()
        },
    )


def _cut_trace(trace: TraceRecord, limit: int) -> TraceRecord:
    """The first `limit` commits listed, the rest counted (the metrics count them all)."""
    if trace.commits is None:
        return trace
    return replace(
        trace,
        commits=trace.commits[:limit],
        commits_omitted=trace.commits_omitted + max(len(trace.commits) - limit, 0),
    )


def _cut_pipeline(pipeline: PipelineRecord, limit: int) -> PipelineRecord:
    """The first `limit` parts listed, the rest counted; past `limit` missing names, one "N more parts"."""
    missing = pipeline.missing
    if len(missing) > max(limit, 1):
        missing = (*missing[: max(limit, 1) - 1], f"{len(missing) - max(limit, 1) + 1:,} more parts")
    return replace(
        pipeline,
        parts=pipeline.parts[:limit],
        parts_omitted=pipeline.parts_omitted + max(len(pipeline.parts) - limit, 0),
        missing=missing,
    )


def _baseline_keys(outcome: Outcome, inputs: Sequence[ReportInput]) -> BaselineKeys:
    """Every finding's key (waived and suppressed ones too: known is known) and every failing test's."""
    findings = None
    if "findings.total" in outcome.metrics:
        everything = (*outcome.waivers.kept, *outcome.waivers.waived)
        findings = KeySet.of(content_key(f.tool, f.rule, f.path, f.content) for f in everything)
    failed = None
    if "tests.total" in outcome.metrics:
        failing = (TestOutcome.FAILED, TestOutcome.ERROR)  # (looked up once, not per failing test)
        failed = KeySet.of(
            [
                case_key(case.classname, case.suite, case.name)
                for report in inputs
                if report.evidence.tests
                for case in report.evidence.tests.notable
                if case.outcome in failing
            ]
        )
    return BaselineKeys(findings=findings, failed_tests=failed)


def _baseline(baseline: Baseline | None) -> BaselineRecord | None:
    if baseline is None:
        return None
    from gatekeeper.verdict_sections import BaselineRecord

    return BaselineRecord(
        id=baseline.verdict_id, source=baseline.source, branch=baseline.branch, created_at=baseline.created_at
    )


def _policy(policy: Policy) -> PolicyRecord:
    return PolicyRecord(
        name=policy.name,
        digest=policy.digest,
        path=policy.path,
        files=policy.chain,
        baseline_branch=policy.baseline_branch,
    )


def _input(report: ReportInput, counts: dict[str, Any], limit: int) -> InputRecord:
    notes = report.evidence.notes
    shown = min(NOTE_LIMIT, limit)
    return InputRecord(
        path=_text(report.path, NAME_LIMIT, keep_end=True),
        format=report.format,
        sha256=report.sha256,
        counts=counts,
        notes=tuple(_text(note, TEXT_LIMIT) for note in notes[:shown])
        + ((f"… and {len(notes) - shown} more notes",) if len(notes) > shown else ()),
    )


def _waiver_use(use: WaiverUse) -> WaiverRecord:
    from gatekeeper.verdict_sections import WaiverRecord

    waiver: Waiver = use.waiver
    return WaiverRecord(
        match=waiver.match(),
        reason=waiver.reason,
        owner=waiver.owner or None,
        expires=waiver.expires.isoformat() if waiver.expires else None,
        source=waiver.source,
        findings=use.findings,
    )


def _quarantines(outcome: QuarantineOutcome) -> Quarantines:
    from gatekeeper.verdict_sections import Quarantines

    return Quarantines(
        applied=tuple(_quarantine_use(use) for use in outcome.applied),
        expired=tuple(_quarantine_use(use) for use in outcome.expired),
    )


def _quarantine_use(use: QuarantineUse) -> QuarantineRecord:
    from gatekeeper.verdict_sections import QuarantineRecord

    entry = use.entry
    return QuarantineRecord(
        test=entry.test,
        reason=entry.reason,
        owner=entry.owner,
        expires=entry.expires.isoformat(),
        tests=use.tests,
        source=entry.source,
    )


def _test_case(case: TestCase) -> TestRecord:
    return TestRecord(
        suite=_text(case.suite, NAME_LIMIT),
        classname=_text(case.classname, NAME_LIMIT),
        name=_text(case.name, NAME_LIMIT),
        outcome=case.outcome,
        flaky=case.flaky,
        duration_seconds=case.duration_seconds,
        message=_text(case.message, TEXT_LIMIT),
        attempts=case.attempts,
    )


def _finding(finding: Finding) -> FindingRecord:
    return FindingRecord(
        tool=_text(finding.tool, NAME_LIMIT),
        rule=_text(finding.rule, NAME_LIMIT),
        severity=finding.severity,
        path=_text(finding.path, NAME_LIMIT, keep_end=True),
        line=finding.line,
        message=_text(finding.message, TEXT_LIMIT // 2),
        fingerprint=_text(finding.fingerprint, NAME_LIMIT),
        suppression=None
        if finding.suppression is None
        else Suppression(
            kind=_text(finding.suppression.kind, NAME_LIMIT),
            justification=_text(finding.suppression.justification, TEXT_LIMIT // 2),
        ),
    )


def dumps(verdict: Verdict | Mapping[str, Any]) -> str:
    """The verdict as pretty JSON (stable key order as built); a stored document as it was stored."""
    document = verdict.to_json() if isinstance(verdict, Verdict) else verdict
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- JSON: the edges --------------------------------------------------------------------------------


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    v1 = verdict.schema == SCHEMA_V1
    policy = verdict.policy
    document: dict[str, Any] = {
        "schema": verdict.schema,
        "id": verdict.id,
        "status": verdict.status.value,
        "reason": verdict.reason,
        "created_at": verdict.created_at,
        "tool": {"name": verdict.tool.name, "version": verdict.tool.version},
        "policy": {
            "name": policy.name,
            "digest": policy.digest,
            "path": policy.path,
            "files": list(policy.files),
            **({} if v1 else {"baseline_branch": policy.baseline_branch}),
        },
        "maturity": {
            "model": verdict.maturity.model,
            "level": verdict.maturity.level,
            "level_achieved": verdict.maturity.level_achieved,
            "levels": [
                {"level": r.level, "status": r.status.value, "blocking_gates": list(r.blocking_gates)}
                for r in verdict.maturity.levels
            ],
        },
        "baseline": None if verdict.baseline is None else _baseline_json(verdict.baseline),
        "context": verdict.context.as_dict(),
        "metrics": dict(verdict.metrics),
        "gates": [_gate(gate, v1=v1) for gate in verdict.gates],
        "inputs": [
            {
                "path": r.path,
                "format": r.format,
                "sha256": r.sha256,
                "counts": dict(r.counts),
                "notes": list(r.notes),
            }
            for r in verdict.inputs
        ],
    }
    if verdict.change is not None:  # v2, where a change was judged
        document["change"] = _change_json(verdict.change)
    if verdict.inputs_omitted is not None:
        omitted = verdict.inputs_omitted
        document["inputs_omitted"] = {
            "count": omitted.count,
            "formats": dict(omitted.formats),
            "counts": dict(omitted.counts),
        }
    if verdict.pipeline is not None:  # v2, a pipeline-final's
        document["pipeline"] = _pipeline_json(verdict.pipeline)
        document["parts"] = [_part_json(part) for part in verdict.pipeline.parts]
    document["waivers"] = {
        "applied": [_waiver_json(use) for use in verdict.waivers.applied],
        "expired": [_waiver_json(use) for use in verdict.waivers.expired],
    }
    if verdict.details is not None:
        details = verdict.details
        document["details"] = {
            "tests": [_test_json(case) for case in details.tests],
            "tests_omitted": details.tests_omitted,
            "findings": [_finding_json(finding) for finding in details.findings],
            "findings_omitted": details.findings_omitted,
        }
        if details.suppressed or details.suppressed_omitted:  # absent when none, as before there were any
            document["details"]["suppressed"] = [_finding_json(finding) for finding in details.suppressed]
            document["details"]["suppressed_omitted"] = details.suppressed_omitted
    if verdict.quarantine is not None:  # absent when the policy quarantines nothing, as before there was any
        document["quarantine"] = {
            "applied": [_quarantine_json(use) for use in verdict.quarantine.applied],
            "expired": [_quarantine_json(use) for use in verdict.quarantine.expired],
        }
    if verdict.baseline_keys is not None:  # v2
        document["baseline_keys"] = _baseline_keys_json(verdict.baseline_keys)
    if verdict.trace is not None:  # v2, where requirement keys were looked for
        document["trace"] = _trace_json(verdict.trace)
    document["duration_ms"] = verdict.duration_ms
    return document


def _trace_json(trace: TraceRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "pattern": trace.pattern,
        "range": trace.range,
        "commits": None
        if trace.commits is None
        else [{"sha": c.sha, "keys": list(c.keys), "subject": c.subject} for c in trace.commits],
        "keys": list(trace.keys),
        "sources": {name: list(keys) for name, keys in trace.sources.items()},
    }
    if trace.commits_omitted:
        document["commits_omitted"] = trace.commits_omitted
    return document


def _trace_from_json(trace: Mapping[str, Any]) -> TraceRecord:
    commits = trace.get("commits")
    return TraceRecord(
        pattern=trace["pattern"],
        range=trace.get("range"),
        commits=None
        if commits is None
        else tuple(
            TracedCommit(sha=c["sha"], keys=tuple(c.get("keys", ())), subject=c.get("subject", "")) for c in commits
        ),
        commits_omitted=trace.get("commits_omitted", 0),
        keys=tuple(trace.get("keys", ())),
        sources={name: tuple(keys) for name, keys in trace.get("sources", {}).items()},
    )


def _pipeline_json(pipeline: PipelineRecord) -> dict[str, Any]:
    document: dict[str, Any] = {"expected": pipeline.expected, "missing": list(pipeline.missing)}
    if pipeline.parts_omitted:
        document["parts_omitted"] = pipeline.parts_omitted
    return document


def _part_json(part: PartRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": part.name,
        "sha256": part.sha256,
        "bytes": part.bytes,
        "received_at": part.received_at,
        "replaced": part.replaced,
        "counts": {"tests": part.tests, "files": part.files, "findings": part.findings},
    }
    if part.unreadable:
        document["unreadable"] = True
    return document


def _pipeline_from_json(pipeline: Mapping[str, Any], parts: Sequence[Mapping[str, Any]]) -> PipelineRecord:
    from gatekeeper.verdict_sections import PartRecord, PipelineRecord

    return PipelineRecord(
        expected=pipeline.get("expected"),
        missing=tuple(pipeline.get("missing", ())),
        parts_omitted=pipeline.get("parts_omitted", 0),
        parts=tuple(
            PartRecord(
                name=part["name"],
                sha256=part["sha256"],
                bytes=part["bytes"],
                received_at=part["received_at"],
                replaced=part["replaced"],
                tests=part["counts"]["tests"],
                files=part["counts"]["files"],
                findings=part["counts"]["findings"],
                unreadable=part.get("unreadable", False),
            )
            for part in parts
        ),
    )


def _change_json(change: ChangeRecord) -> dict[str, Any]:
    return {
        "source": change.source,
        "base": change.base,
        "head": change.head,
        "lines_added": change.lines_added,
        "lines_removed": change.lines_removed,
        "files": [_changed_file_json(record) for record in change.files],
        "files_omitted": change.files_omitted,
    }


def _changed_file_json(record: ChangedFileRecord) -> dict[str, Any]:
    from gatekeeper.newcode import ranges_text

    def counts(pair: tuple[int, int] | None) -> dict[str, int] | None:
        return None if pair is None else {"covered": pair[0], "total": pair[1]}

    return {
        "path": record.path,
        "status": record.status.value,
        **({"old_path": record.old_path} if record.old_path is not None else {}),
        "lines_added": record.lines_added,
        "lines_removed": record.lines_removed,
        "new_lines": counts(record.new_lines),
        **({"new_branches": counts(record.new_branches)} if record.new_branches is not None else {}),
        "uncovered": ranges_text(record.uncovered),
        "uncovered_omitted": record.uncovered_omitted,
    }


def _baseline_keys_json(keys: BaselineKeys) -> dict[str, Any]:
    kinds = {"findings": keys.findings, "failed_tests": keys.failed_tests}
    return {
        kind: {"count": found.count, "bytes": found.width, "digests": found.encoded()}
        for kind, found in kinds.items()
        if found is not None
    }


def _change_from_json(change: Mapping[str, Any]) -> ChangeRecord:
    from gatekeeper.change import FileStatus
    from gatekeeper.newcode import ranges_of
    from gatekeeper.verdict_sections import ChangedFileRecord, ChangeRecord

    def counts(pair: Mapping[str, int] | None) -> tuple[int, int] | None:
        return None if pair is None else (pair["covered"], pair["total"])

    return ChangeRecord(
        source=change["source"],
        base=change.get("base"),
        head=change.get("head"),
        lines_added=change["lines_added"],
        lines_removed=change["lines_removed"],
        files=tuple(
            ChangedFileRecord(
                path=record["path"],
                status=FileStatus(record["status"]),
                old_path=record.get("old_path"),
                lines_added=record["lines_added"],
                lines_removed=record["lines_removed"],
                new_lines=counts(record.get("new_lines")),
                new_branches=counts(record.get("new_branches")),
                uncovered=ranges_of(record.get("uncovered", "")),
                uncovered_omitted=record.get("uncovered_omitted", 0),
            )
            for record in change.get("files", ())
        ),
        files_omitted=change.get("files_omitted", 0),
    )


def _key_set_from_json(document: Mapping[str, Any] | None) -> KeySet | None:
    if document is None:
        return None
    return KeySet.decoded(document["count"], document["bytes"], document.get("digests"))


def _baseline_json(baseline: BaselineRecord) -> dict[str, Any]:
    return {"id": baseline.id, "source": baseline.source, "branch": baseline.branch, "created_at": baseline.created_at}


def _waiver_json(use: WaiverRecord) -> dict[str, Any]:
    return {
        "match": dict(use.match),
        "reason": use.reason,
        "owner": use.owner,
        "expires": use.expires,
        "source": use.source,
        "findings": use.findings,
    }


def _quarantine_json(use: QuarantineRecord) -> dict[str, Any]:
    return {
        "test": use.test,
        "reason": use.reason,
        "owner": use.owner,
        "expires": use.expires,
        "source": use.source,
        "tests": use.tests,
    }


def _test_json(case: TestRecord) -> dict[str, Any]:
    document: dict[str, Any] = {
        "suite": case.suite,
        "classname": case.classname,
        "name": case.name,
        "outcome": case.outcome.value,
        "flaky": case.flaky,
        "duration_seconds": case.duration_seconds,
        "message": case.message,
    }
    # v2, each only where it says something, so a verdict without re-runs, quarantine or history is as before
    if case.attempts > 1:
        document["attempts"] = case.attempts
    if case.quarantine is not None:
        document["quarantine"] = case.quarantine
    if case.history is not None:
        document["history"] = _history_json(case.history)
    return document


def _history_json(history: FlakyHistory) -> dict[str, Any]:
    return {
        "flaky": history.flaky,
        "failures": history.failures,
        "passes": history.passes,
        "flaky_commits": history.flaky_commits,
        "passes_since": history.passes_since,
        "window_days": history.window_days,
        "clear_after": history.clear_after,
        **({"flaky_runs": history.flaky_runs} if history.flaky_runs else {}),
    }


def _finding_json(finding: FindingRecord) -> dict[str, Any]:
    return {
        "tool": finding.tool,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
        **(
            {}
            if finding.suppression is None
            else {
                "suppression": {
                    "kind": finding.suppression.kind,
                    "justification": finding.suppression.justification,
                }
            }
        ),
    }


def parse(document: object, name: str) -> Verdict:
    """A verdict from JSON data read from `name` (a file, a store): validated against
    schemas/verdict.schema.json first, so a document that is no verdict is named with the first thing
    wrong (InputError) rather than half read."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(document))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path)
        raise InputError(name, f"not a gatekeeper verdict: {where + ': ' if where else ''}{error.message}")
    assert isinstance(document, Mapping)
    return Verdict.from_json(document)


@functools.cache
def _validator() -> Any:
    """schemas/verdict.schema.json's validator, built once (a release check reads a verdict per member)."""
    from jsonschema import Draft202012Validator

    from gatekeeper.policy import resource_path

    schema = json.loads(resource_path("schemas", "verdict.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _verdict_from_json(document: Mapping[str, Any]) -> Verdict:
    from gatekeeper.verdict_sections import BaselineRecord, Quarantines

    policy, maturity, baseline = document["policy"], document["maturity"], document.get("baseline")
    omitted, details = document.get("inputs_omitted"), document.get("details")
    return Verdict(
        schema=document["schema"],
        id=document["id"],
        status=Decision(document["status"]),
        reason=document["reason"],
        created_at=document["created_at"],
        tool=Tool(name=document["tool"]["name"], version=document["tool"]["version"]),
        policy=PolicyRecord(
            name=policy["name"],
            digest=policy["digest"],
            path=policy.get("path"),
            files=tuple(policy.get("files", ())),
            baseline_branch=policy.get("baseline_branch"),
        ),
        maturity=MaturityRecord(
            model=maturity["model"],
            level=maturity["level"],
            level_achieved=maturity["level_achieved"],
            levels=tuple(
                LevelRecord(
                    level=entry["level"],
                    status=Decision(entry["status"]),
                    blocking_gates=tuple(entry.get("blocking_gates", ())),
                )
                for entry in maturity.get("levels", ())
            ),
        ),
        baseline=None
        if baseline is None
        else BaselineRecord(
            id=baseline["id"],
            source=baseline["source"],
            branch=baseline.get("branch"),
            created_at=baseline.get("created_at"),
        ),
        context=_context_of(document["context"]),
        metrics=dict(document["metrics"]),
        gates=tuple(gate_from_json(gate) for gate in document["gates"]),
        inputs=tuple(
            InputRecord(
                path=entry["path"],
                format=entry["format"],
                sha256=entry["sha256"],
                counts=dict(entry.get("counts", {})),
                notes=tuple(entry.get("notes", ())),
            )
            for entry in document["inputs"]
        ),
        inputs_omitted=None
        if omitted is None
        else InputsOmitted(
            count=omitted["count"], formats=dict(omitted.get("formats", {})), counts=dict(omitted.get("counts", {}))
        ),
        waivers=Waivers(
            applied=tuple(_waiver_from_json(use) for use in document["waivers"]["applied"]),
            expired=tuple(_waiver_from_json(use) for use in document["waivers"]["expired"]),
        ),
        details=None
        if details is None
        else Details(
            tests=tuple(_test_from_json(case) for case in details.get("tests", ())),
            tests_omitted=details.get("tests_omitted", 0),
            findings=tuple(_finding_from_json(finding) for finding in details.get("findings", ())),
            findings_omitted=details.get("findings_omitted", 0),
            suppressed=tuple(_finding_from_json(finding) for finding in details.get("suppressed", ())),
            suppressed_omitted=details.get("suppressed_omitted", 0),
        ),
        duration_ms=document["duration_ms"],
        change=None if document.get("change") is None else _change_from_json(document["change"]),
        baseline_keys=None
        if document.get("baseline_keys") is None
        else BaselineKeys(
            findings=_key_set_from_json(document["baseline_keys"].get("findings")),
            failed_tests=_key_set_from_json(document["baseline_keys"].get("failed_tests")),
        ),
        pipeline=None
        if document.get("pipeline") is None
        else _pipeline_from_json(document["pipeline"], document.get("parts", ())),
        trace=None if document.get("trace") is None else _trace_from_json(document["trace"]),
        quarantine=None
        if document.get("quarantine") is None
        else Quarantines(
            applied=tuple(_quarantine_from_json(use) for use in document["quarantine"]["applied"]),
            expired=tuple(_quarantine_from_json(use) for use in document["quarantine"]["expired"]),
        ),
    )


def _quarantine_from_json(use: Mapping[str, Any]) -> QuarantineRecord:
    from gatekeeper.verdict_sections import QuarantineRecord

    return QuarantineRecord(
        test=use["test"],
        reason=use["reason"],
        owner=use["owner"],
        expires=use["expires"],
        tests=use["tests"],
        source=use.get("source", ""),
    )


def _waiver_from_json(use: Mapping[str, Any]) -> WaiverRecord:
    from gatekeeper.verdict_sections import WaiverRecord

    return WaiverRecord(
        match=dict(use["match"]),
        reason=use["reason"],
        findings=use["findings"],
        owner=use.get("owner"),
        expires=use.get("expires"),
        source=use.get("source", ""),
    )


def _test_from_json(case: Mapping[str, Any]) -> TestRecord:
    return TestRecord(
        name=case["name"],
        outcome=TestOutcome(case["outcome"]),
        suite=case.get("suite", ""),
        classname=case.get("classname", ""),
        flaky=case.get("flaky", False),
        duration_seconds=case.get("duration_seconds", 0.0),
        message=case.get("message", ""),
        attempts=case.get("attempts", 1),
        quarantine=case.get("quarantine"),
        history=None if case.get("history") is None else _history_from_json(case["history"]),
    )


def _history_from_json(history: Mapping[str, Any]) -> FlakyHistory:
    from gatekeeper.flaky import FlakyHistory

    return FlakyHistory(
        failures=history["failures"],
        passes=history["passes"],
        flaky_commits=history["flaky_commits"],
        passes_since=history["passes_since"],
        window_days=history["window_days"],
        clear_after=history["clear_after"],
        flaky_runs=history.get("flaky_runs", 0),
    )


def _finding_from_json(finding: Mapping[str, Any]) -> FindingRecord:
    suppression = finding.get("suppression")
    return FindingRecord(
        tool=finding["tool"],
        rule=finding["rule"],
        severity=Severity(finding["severity"]),
        path=finding["path"],
        line=finding.get("line"),
        message=finding.get("message", ""),
        fingerprint=finding.get("fingerprint", ""),
        suppression=None if suppression is None else Suppression(**suppression),
    )
