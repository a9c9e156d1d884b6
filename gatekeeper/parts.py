"""Pipeline parts: one job's evidence, recorded compactly, and every part of a pipeline merged for one decision.

A pipeline that splits its tests over parallel jobs must be judged as a whole, never shard by shard nor by
averaging the shards' percentages (what GitLab does with job coverage).  So each job records a `Part`
(`part_from_inputs`, `encode_part`): every test case by identity and outcome, each file's line coverage as
line bitmasks, every finding with its fingerprint.  A last job merges the stored parts (`merge_parts`):

- a part retried (the same name, a later `received_at` in the store) replaces its earlier attempts, and a
  test that failed in an earlier attempt and passed in the current one is flaky (it failed and passed on
  the pipeline's commit);
- a test is counted once by its identity (suite, classname, name, and its occurrence within its report),
  however many parts ran it; run by several parts (a matrix), a failure in any of them is a failure;
- coverage is merged per file by line (`FileCoverage.merge`): a line is covered if any part covered it;
- a finding is counted once by its tool, rule and fingerprint.

The merge hands back `ReportInput`s whose evidence, added up by `parsers.merge`, is the pipeline's: the
engine decides on them as on one job's reports, unchanged.

An encoded part is hostile input when it is read back (anyone with a token can store one): its size, its
decompressed size, its schema, every string's length and every number's range are checked, and anything
wrong is one `InputError` naming the part.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import operator
import re
import zlib
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from gatekeeper.context import Context
from gatekeeper.errors import InputError, one_line
from gatekeeper.model import (
    Coverage,
    CoverageTotals,
    Evidence,
    FileCoverage,
    Finding,
    Outcome,
    ReportInput,
    Severity,
    Suppression,
    TestCase,
    TestResults,
)
from gatekeeper.parsers import FORMATS

__all__ = [
    "MAX_DECODED_BYTES",
    "MAX_PART_BYTES",
    "PART_SCHEMA",
    "MergedPipeline",
    "Part",
    "PartRecord",
    "PartReport",
    "PartSummary",
    "PartTests",
    "case_digest",
    "decode_part",
    "encode_part",
    "merge_parts",
    "part_from_inputs",
    "summarise_parts",
]

#: The encoded document's schema: a reader refuses any other.
PART_SCHEMA = "gatekeeper.part/v1"
#: The largest encoded part read (the stores' own limit, gatekeeper.store.parts.MAX_PART_BYTES).
MAX_PART_BYTES = 32 * 1024 * 1024
#: The most a part may decompress to: a small body that inflates past it is a zip bomb, refused unread.
#: (A part of a million test cases is ~14 MB decompressed; of 100,000 findings, ~30 MB.)
MAX_DECODED_BYTES = 128 * 1024 * 1024
#: Bytes of a test's identity digest (blake2b): a collision needs ~4 billion tests in one pipeline.
ID_BYTES = 8

# Test outcomes as a part records them, one byte per case (the JUnit reader's ranks, `_reruns`).
_PASSED, _SKIPPED, _FAILED, _ERROR = 0, 1, 2, 3
_OUTCOMES = (Outcome.PASSED, Outcome.SKIPPED, Outcome.FAILED, Outcome.ERROR)
_CODE = {outcome: code for code, outcome in enumerate(_OUTCOMES)}
#: Which outcome wins when one test ran in several parts: an error, then a failure, then a pass.
_WORSE = (1, 0, 2, 3)  # by code: skipped < passed < failed < error

# Bounds of what a decoded part may hold (the encoder cuts texts to them).
_TEXT_LIMIT = 1000  # a message or a note
_NAME_LIMIT = 1000  # a test's suite, classname or name; a tool or a rule
_PATH_LIMIT = 4096
_KEY_LIMIT = 255  # project, pipeline, part name (the stores' limit)
_MAX_COUNT = 1 << 40  # a count of tests, or of a report's anything
_MAX_LINE = 1 << 31
_MAX_SECONDS = 1e9
_MAX_REPORTS = 100_000
_MAX_NOTES = 100  # a report's notes kept in a part
_HEX = re.compile(r"[0-9a-f]{64}")


class PartRecord(Protocol):
    """A stored attempt of a part, as `merge_parts` reads it (gatekeeper.store.parts.StoredPart is one)."""

    @property
    def project(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def received_at(self) -> str: ...  # the store's clock, fixed-width UTC text: text order is time order
    @property
    def body(self) -> bytes: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PartTests:
    """Every test case of one report, by identity, compactly: three byte strings with one entry per case.

    `ids` is None when the report's cases could not be told apart (then every case is in `unnamed`).
    `unnamed` counts cases with no identity (a leaf suite counted from its attributes); `notable` pairs
    each failed, errored or flaky case (its names and message) with its index in `ids`, or -1.
    """

    __test__ = False  # not a pytest test class

    ids: bytes | None  # ID_BYTES per case (`case_digest`)
    outcomes: bytes  # per case: 0 passed, 1 skipped, 2 failed, 3 error
    attempts: bytes  # per case: how often it ran (at most 255); a pass after more than one is flaky
    unnamed: TestResults = field(default_factory=TestResults)
    duration_seconds: float = 0.0
    notable: tuple[tuple[int, TestCase], ...] = ()

    @property
    def cases(self) -> int:
        return len(self.outcomes)

    @property
    def total(self) -> int:
        return self.cases + self.unnamed.total

    def entries(self) -> Iterator[tuple[int, bytes, int, int]]:
        """(index, id, outcome, attempts) of every case with an identity."""
        if self.ids is None:
            return
        ids = self.ids
        for index, (outcome, attempts) in enumerate(zip(self.outcomes, self.attempts, strict=True)):
            yield index, ids[index * ID_BYTES : (index + 1) * ID_BYTES], outcome, attempts

    def results(self) -> TestResults:
        """This report's own counts, as the JUnit reader gave them."""
        counts = [0, 0, 0, 0]
        flaky = 0
        for outcome, attempts in zip(self.outcomes, self.attempts, strict=True):
            counts[outcome] += 1
            flaky += outcome == _PASSED and attempts > 1
        own = TestResults(
            passed=counts[_PASSED],
            skipped=counts[_SKIPPED],
            failed=counts[_FAILED],
            errors=counts[_ERROR],
            flaky=flaky,
            duration_seconds=self.duration_seconds,
            notable=tuple(case for _, case in self.notable),
        )
        return own + self.unnamed


@dataclass(frozen=True, slots=True, kw_only=True)
class PartReport:
    """One report a part read: where it was, its format and digest, and its evidence in mergeable form."""

    path: str
    format: str
    sha256: str
    tests: PartTests | None = None
    coverage: Coverage | None = None
    findings: tuple[Finding, ...] | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One job's evidence, recorded as a part of its pipeline instead of being decided on."""

    project: str
    pipeline: str
    name: str  # e.g. "test 2/3"
    branch: str | None = None
    commit: str | None = None
    job: str | None = None
    url: str | None = None
    reports: tuple[PartReport, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Tests, coverage files and findings it holds (a verdict's `parts[].counts`)."""
        tests = sum(r.tests.total for r in self.reports if r.tests is not None)
        files = len({path for r in self.reports if r.coverage is not None for path in r.coverage.files})
        findings = sum(len(r.findings) for r in self.reports if r.findings is not None)
        return {"tests": tests, "files": files, "findings": findings}


def case_digest(suite: str, classname: str, name: str, occurrence: int = 0) -> bytes:
    """A test's identity in a part: the same test in another part, or another attempt, has the same one.

    `occurrence` tells apart cases one report names alike (the n-th such case is the n-th elsewhere too).
    """
    material = "\x1f".join((suite, classname, name, str(occurrence)))
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=ID_BYTES).digest()


# ---------------------------------------------------------------------------------------------- recording


def part_from_inputs(
    inputs: Sequence[ReportInput], *, project: str, pipeline: str, name: str, context: Context
) -> Part:
    """The part a job records from the reports it read (`check --part NAME`).

    JUnit reports are read again for every case's identity (`junit.parse_cases`: the first read counts
    passing cases without their names); should that read disagree with the first one (the file changed,
    or is gone), the report's cases are kept as counts without identity, and a note says so.
    """
    for label, value in (("project", project), ("pipeline", pipeline), ("part name", name)):
        problem = _key_problem(value)
        if problem is not None:
            raise InputError(f"part {name!r}", f"the {label} {problem}")
    reports = tuple(_report(report) for report in inputs)
    return Part(
        project=project,
        pipeline=pipeline,
        name=name,
        branch=context.branch,
        commit=context.commit,
        job=context.job,
        url=context.url,
        reports=reports,
    )


def _report(report: ReportInput) -> PartReport:
    evidence = report.evidence
    notes = list(evidence.notes)
    tests = None
    if evidence.tests is not None:
        tests, note = _tests(report, evidence.tests)
        if note:
            notes.append(note)
    return PartReport(
        path=report.path,
        format=report.format,
        sha256=report.sha256,
        tests=tests,
        coverage=evidence.coverage,
        findings=evidence.findings,
        notes=tuple(notes),
    )


def _counts(results: TestResults) -> tuple[int, int, int, int, int]:
    return results.passed, results.skipped, results.failed, results.errors, results.flaky


def _unnamed(results: TestResults) -> PartTests:
    """A report's tests as counts alone: its cases could not be told apart."""
    counts = replace(results, notable=(), duration_seconds=0.0, quarantined=None)
    return PartTests(
        ids=None,
        outcomes=b"",
        attempts=b"",
        unnamed=counts,
        duration_seconds=results.duration_seconds,
        notable=tuple((-1, case) for case in results.notable),
    )


def _tests(report: ReportInput, results: TestResults) -> tuple[PartTests, str | None]:
    """The report's cases by identity, or (with the reason in a note) as counts alone."""
    if report.format != "junit":
        return _unnamed(results), None
    from gatekeeper.parsers import junit

    try:
        evidence, cases = junit.parse_cases(Path(report.path))
    except (InputError, OSError) as error:
        return _unnamed(results), f"test cases counted without their names (cannot read them again: {error})"
    read = evidence.tests or TestResults()
    if cases is None or _counts(read) != _counts(results):
        return _unnamed(results), "test cases counted without their names (a second read did not agree)"
    outcomes = bytes(case[3] for case in cases)
    attempts = bytes(min(case[4], 255) for case in cases)
    counted = [0, 0, 0, 0]
    flaky = 0
    for outcome, tries in zip(outcomes, attempts, strict=True):
        counted[outcome] += 1
        flaky += outcome == _PASSED and tries > 1
    rest = (
        results.passed - counted[_PASSED],
        results.skipped - counted[_SKIPPED],
        results.failed - counted[_FAILED],
        results.errors - counted[_ERROR],
        results.flaky - flaky,
    )
    if min(rest) < 0:
        return _unnamed(results), "test cases counted without their names (they did not add up)"
    occurrences: dict[tuple[str, str, str], int] = {}
    ids = bytearray()
    notable_at: dict[tuple[str, str, str, str], deque[int]] = {}
    for index, (suite, classname, case_name, outcome, tries) in enumerate(cases):
        key = (suite, classname, case_name)
        occurrence = occurrences.get(key, 0)
        occurrences[key] = occurrence + 1
        ids += case_digest(suite, classname, case_name, occurrence)
        kind = _kind(outcome, tries > 1)
        if kind:
            notable_at.setdefault((*key, kind), deque()).append(index)
    notable = []
    for case in results.notable:
        queue = notable_at.get((case.suite, case.classname, case.name, _kind(_CODE[case.outcome], case.flaky)))
        notable.append((queue.popleft() if queue else -1, case))
    unnamed = TestResults(passed=rest[0], skipped=rest[1], failed=rest[2], errors=rest[3], flaky=rest[4])
    return (
        PartTests(
            ids=bytes(ids),
            outcomes=outcomes,
            attempts=attempts,
            unnamed=unnamed,
            duration_seconds=results.duration_seconds,
            notable=tuple(notable),
        ),
        None,
    )


def _kind(outcome: int, rerun: bool) -> str:
    """What a notable case is: "flaky", "failed", "error", or "" for a case no verdict names."""
    if outcome == _PASSED:
        return "flaky" if rerun else ""
    return "failed" if outcome == _FAILED else "error" if outcome == _ERROR else ""


# ----------------------------------------------------------------------------------------------- encoding


def encode_part(part: Part) -> bytes:
    """The part as stored and sent: compact JSON, zlib-compressed; line sets as bitmask bytes (base64)."""
    document = {
        "schema": PART_SCHEMA,
        "project": part.project,
        "pipeline": part.pipeline,
        "name": part.name,
        "context": {"branch": part.branch, "commit": part.commit, "job": part.job, "url": part.url},
        "reports": [_report_json(report) for report in part.reports],
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _mask_bytes(mask: int) -> bytes:
    return mask.to_bytes((mask.bit_length() + 7) // 8, "little")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _report_json(report: PartReport) -> dict[str, Any]:
    document: dict[str, Any] = {
        "path": _cut(report.path, _PATH_LIMIT),
        "format": report.format,
        "sha256": report.sha256,
        "notes": [_cut(note, _TEXT_LIMIT) for note in report.notes[:_MAX_NOTES]],
    }
    if report.tests is not None:
        document["tests"] = _tests_json(report.tests)
    if report.coverage is not None:
        document["coverage"] = _coverage_json(report.coverage)
    if report.findings is not None:
        document["findings"] = [_finding_json(finding) for finding in report.findings]
    return document


def _tests_json(tests: PartTests) -> dict[str, Any]:
    unnamed = tests.unnamed
    return {
        "ids": None if tests.ids is None else _b64(tests.ids),
        "outcomes": _b64(tests.outcomes),
        "attempts": _b64(tests.attempts),
        "unnamed": [unnamed.passed, unnamed.skipped, unnamed.failed, unnamed.errors, unnamed.flaky],
        "duration": tests.duration_seconds,
        "notable": [
            [
                index,
                _cut(case.suite, _NAME_LIMIT),
                _cut(case.classname, _NAME_LIMIT),
                _cut(case.name, _NAME_LIMIT),
                _CODE[case.outcome],
                case.duration_seconds,
                _cut(case.message, _TEXT_LIMIT),
                case.flaky,
                case.attempts,
            ]
            for index, case in tests.notable
        ],
    }


def _coverage_json(coverage: Coverage) -> dict[str, Any]:
    files = []
    for record in coverage.files.values():
        branches = None
        if record.branches is not None:
            branches = [n for line in sorted(record.branches) for n in (line, *record.branches[line])]
        files.append(
            [
                _cut(record.path, _PATH_LIMIT),
                _b64(_mask_bytes(record.statements)),
                _b64(_mask_bytes(record.covered)),
                branches,
            ]
        )
    totals = coverage.totals_only
    return {
        "files": files,
        "totals": None
        if totals is None
        else [totals.lines_covered, totals.lines_total, totals.branches_covered, totals.branches_total],
    }


def _finding_json(finding: Finding) -> list[Any]:
    suppression = finding.suppression
    return [
        _cut(finding.tool, _NAME_LIMIT),
        _cut(finding.rule, _NAME_LIMIT),
        finding.severity.value,
        _cut(finding.tool_severity, _NAME_LIMIT),
        _cut(finding.path, _PATH_LIMIT),
        finding.line,
        _cut(finding.message, _TEXT_LIMIT),
        _cut(finding.fingerprint, _NAME_LIMIT),
        _b64(finding.content),
        None
        if suppression is None
        else [_cut(suppression.kind, _NAME_LIMIT), _cut(suppression.justification, _TEXT_LIMIT)],
        finding.baseline_state,
    ]


# ----------------------------------------------------------------------------------------------- decoding


class _Bad(Exception):
    """What is wrong with a decoded document, and where (turned into one InputError by `decode_part`)."""


def decode_part(data: bytes, source: str, *, max_decoded: int = MAX_DECODED_BYTES) -> Part:
    """A stored or uploaded part, checked: a one-line InputError naming `source` on anything wrong.

    No more than `max_decoded` bytes are ever decompressed, whatever the body claims.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InputError(source, "not a part: its body is not bytes")
    if len(data) > MAX_PART_BYTES:
        raise InputError(source, f"not a part: {len(data)} bytes, over the limit of {MAX_PART_BYTES}")
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, max_decoded + 1)  # never more: a zip bomb stops here
    except zlib.error:
        raise InputError(source, "not a part: not zlib-compressed data") from None
    if len(text) > max_decoded:
        raise InputError(source, f"not a part: it decompresses to more than {max_decoded} bytes")
    if not inflater.eof:
        raise InputError(source, "not a part: truncated (the compressed data stops before its end)")
    if inflater.unused_data:
        raise InputError(source, "not a part: bytes after the compressed data")
    from gatekeeper.parsers import json_depth_problem

    depth = json_depth_problem(text)
    if depth is not None:
        raise InputError(source, f"not a part: {depth}")
    try:
        # surrogatepass: a report's text can hold a lone surrogate (a JSON report's "\ud800"), as encoded
        document = json.loads(text.decode("utf-8", "surrogatepass"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise InputError(source, "not a part: not UTF-8") from None
    except ValueError as error:  # JSONDecodeError, and integers of more digits than Python converts
        raise InputError(source, f"not a part: not JSON ({one_line(error)[:200]})") from None
    try:
        return _part(document)
    except _Bad as error:
        raise InputError(source, f"not a {PART_SCHEMA} part: {error}") from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{where} is not an object")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(f"{where} is not a list")
    return value


def _text(value: object, where: str, limit: int, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise _Bad(f"{where} is not a string")
    if len(value) > limit:
        raise _Bad(f"{where} is longer than {limit} characters")
    if not empty and not value:
        raise _Bad(f"{where} is empty")
    return value


def _optional_text(value: object, where: str, limit: int) -> str | None:
    return None if value is None else _text(value, where, limit)


def _int(value: object, where: str, low: int = 0, high: int = _MAX_COUNT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"{where} is not an integer")
    if not low <= value <= high:
        raise _Bad(f"{where} is {'too large' if value > high else 'too small'} ({_short(value)})")
    return value


def _short(value: int) -> str:
    digits = str(value) if abs(value) < 10**30 else f"{'-' if value < 0 else ''}{len(str(abs(value)))} digits"
    return digits


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(f"{where} is not a number")
    seconds = float(value)
    if not (math.isfinite(seconds) and 0 <= seconds <= _MAX_SECONDS):
        raise _Bad(f"{where} is out of range")
    return seconds


def _bytes(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise _Bad(f"{where} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(f"{where} is not valid base64") from None


def _part(value: object) -> Part:
    document = _object(value, "the document")
    schema = document.get("schema")
    if schema != PART_SCHEMA:
        shown = _cut(schema, 80) if isinstance(schema, str) else type(schema).__name__
        raise _Bad(f"its schema is {shown!r}, not {PART_SCHEMA!r}")
    keys = {}
    for key in ("project", "pipeline", "name"):
        text = _text(document.get(key), key, _KEY_LIMIT)
        problem = _key_problem(text)
        if problem is not None:
            raise _Bad(f"{key} {problem}")
        keys[key] = text
    context = _object(document.get("context", {}), "context")
    reports = _list(document.get("reports"), "reports")
    if len(reports) > _MAX_REPORTS:
        raise _Bad(f"reports: more than {_MAX_REPORTS}")
    return Part(
        project=keys["project"],
        pipeline=keys["pipeline"],
        name=keys["name"],
        branch=_optional_text(context.get("branch"), "context.branch", _PATH_LIMIT),
        commit=_optional_text(context.get("commit"), "context.commit", _KEY_LIMIT),
        job=_optional_text(context.get("job"), "context.job", _PATH_LIMIT),
        url=_optional_text(context.get("url"), "context.url", _PATH_LIMIT),
        reports=tuple(_decoded_report(entry, f"reports[{index}]") for index, entry in enumerate(reports)),
    )


def _decoded_report(value: object, where: str) -> PartReport:
    report = _object(value, where)
    sha256 = _text(report.get("sha256"), f"{where}.sha256", 64)
    if not _HEX.fullmatch(sha256):
        raise _Bad(f"{where}.sha256 is not a lower-case hex SHA-256")
    notes = _list(report.get("notes", []), f"{where}.notes")
    if len(notes) > _MAX_NOTES:
        raise _Bad(f"{where}.notes: more than {_MAX_NOTES}")
    return PartReport(
        path=_text(report.get("path"), f"{where}.path", _PATH_LIMIT, empty=False),
        format=_format(report.get("format"), f"{where}.format"),
        sha256=sha256,
        tests=None if report.get("tests") is None else _decoded_tests(report["tests"], f"{where}.tests"),
        coverage=None if report.get("coverage") is None else _decoded_coverage(report["coverage"], f"{where}.coverage"),
        findings=None
        if report.get("findings") is None
        else tuple(
            _decoded_finding(entry, f"{where}.findings[{index}]")
            for index, entry in enumerate(_list(report["findings"], f"{where}.findings"))
        ),
        notes=tuple(_text(note, f"{where}.notes[{index}]", _TEXT_LIMIT) for index, note in enumerate(notes)),
    )


def _format(value: object, where: str) -> str:
    if not isinstance(value, str) or value not in FORMATS:
        raise _Bad(f"{where} is not one of the report formats gatekeeper reads")
    return value


def _decoded_tests(value: object, where: str) -> PartTests:
    tests = _object(value, where)
    ids = None if tests.get("ids") is None else _bytes(tests["ids"], f"{where}.ids")
    outcomes = _bytes(tests.get("outcomes"), f"{where}.outcomes")
    attempts = _bytes(tests.get("attempts"), f"{where}.attempts")
    if len(attempts) != len(outcomes):
        raise _Bad(f"{where}: {len(outcomes)} outcomes but {len(attempts)} attempts")
    if ids is None and outcomes:
        raise _Bad(f"{where}: outcomes without ids")
    if ids is not None and len(ids) != ID_BYTES * len(outcomes):
        raise _Bad(f"{where}.ids: {len(ids)} bytes for {len(outcomes)} cases of {ID_BYTES} bytes")
    if outcomes and max(outcomes) > _ERROR:
        raise _Bad(f"{where}.outcomes: an outcome other than 0-3")
    if attempts and min(attempts) < 1:
        raise _Bad(f"{where}.attempts: a case run 0 times")
    unnamed = _list(tests.get("unnamed"), f"{where}.unnamed")
    if len(unnamed) != 5:
        raise _Bad(f"{where}.unnamed is not 5 counts")
    passed, skipped, failed, errors, flaky = (_int(n, f"{where}.unnamed[{i}]") for i, n in enumerate(unnamed))
    if flaky > passed:
        raise _Bad(f"{where}.unnamed: more flaky tests than passed ones")
    notable = _list(tests.get("notable", []), f"{where}.notable")
    return PartTests(
        ids=ids,
        outcomes=outcomes,
        attempts=attempts,
        unnamed=TestResults(passed=passed, skipped=skipped, failed=failed, errors=errors, flaky=flaky),
        duration_seconds=_seconds(tests.get("duration", 0), f"{where}.duration"),
        notable=tuple(
            _decoded_case(entry, f"{where}.notable[{index}]", len(outcomes)) for index, entry in enumerate(notable)
        ),
    )


def _decoded_case(value: object, where: str, cases: int) -> tuple[int, TestCase]:
    entry = _list(value, where)
    if len(entry) != 9:
        raise _Bad(f"{where} is not 9 fields")
    index = _int(entry[0], f"{where}[0] (index)", -1, cases - 1)
    outcome = _int(entry[4], f"{where}[4] (outcome)", 0, _ERROR)
    flaky = entry[7]
    if not isinstance(flaky, bool):
        raise _Bad(f"{where}[7] (flaky) is not true or false")
    return index, TestCase(
        suite=_text(entry[1], f"{where}[1] (suite)", _NAME_LIMIT),
        classname=_text(entry[2], f"{where}[2] (classname)", _NAME_LIMIT),
        name=_text(entry[3], f"{where}[3] (name)", _NAME_LIMIT),
        outcome=_OUTCOMES[outcome],
        duration_seconds=_seconds(entry[5], f"{where}[5] (duration)"),
        message=_text(entry[6], f"{where}[6] (message)", _TEXT_LIMIT),
        flaky=flaky,
        attempts=_int(entry[8], f"{where}[8] (attempts)", 1, _MAX_COUNT),
    )


def _decoded_coverage(value: object, where: str) -> Coverage:
    coverage = _object(value, where)
    files: dict[str, FileCoverage] = {}
    for index, entry in enumerate(_list(coverage.get("files"), f"{where}.files")):
        at = f"{where}.files[{index}]"
        record = _decoded_file(entry, at)
        if record.path in files:
            raise _Bad(f"{at}: {record.path!r} is listed twice")
        files[record.path] = record
    totals = coverage.get("totals")
    totals_only = None
    if totals is not None:
        numbers = _list(totals, f"{where}.totals")
        if len(numbers) != 4:
            raise _Bad(f"{where}.totals is not 4 counts")
        lines_covered, lines_total = (_int(n, f"{where}.totals[{i}]") for i, n in enumerate(numbers[:2]))
        branches_covered, branches_total = (
            None if n is None else _int(n, f"{where}.totals[{i + 2}]") for i, n in enumerate(numbers[2:])
        )
        if lines_covered > lines_total:
            raise _Bad(f"{where}.totals: more lines covered than there are")
        totals_only = CoverageTotals(
            lines_covered=lines_covered,
            lines_total=lines_total,
            branches_covered=branches_covered,
            branches_total=branches_total,
        )
    return Coverage(files=files, totals_only=totals_only)


def _decoded_file(value: object, where: str) -> FileCoverage:
    entry = _list(value, where)
    if len(entry) != 4:
        raise _Bad(f"{where} is not 4 fields")
    path = _text(entry[0], f"{where}[0] (path)", _PATH_LIMIT, empty=False)
    statements = int.from_bytes(_bytes(entry[1], f"{where}[1] (statements)"), "little")
    covered = int.from_bytes(_bytes(entry[2], f"{where}[2] (covered)"), "little")
    if covered & ~statements:
        raise _Bad(f"{where}: covered lines that are not statements")
    branches: dict[int, tuple[int, int]] | None = None  # {}: the format has branches, this file none
    if entry[3] is not None:
        numbers = _list(entry[3], f"{where}[3] (branches)")
        if len(numbers) % 3:
            raise _Bad(f"{where}[3] (branches) is not (line, covered, total) triples")
        branches = _branches(numbers) or _branches_checked(numbers, f"{where}[3]")
    return FileCoverage(path=path, statements=statements, covered=covered, branches=branches)


def _branches(numbers: list[Any]) -> dict[int, tuple[int, int]] | None:
    """Flat (line, covered, total) triples as a file's branches, checked in bulk (a part holds hundreds of
    thousands); None when any number is wrong, for `_branches_checked` to say which."""
    if not numbers:
        return {}
    if set(map(type, numbers)) != {int}:  # bool is no int here
        return None
    lines, covered, totals = numbers[0::3], numbers[1::3], numbers[2::3]
    if min(lines) < 0 or max(lines) > _MAX_LINE or min(covered) < 0 or max(totals) > _MAX_COUNT:
        return None
    if not all(map(operator.le, covered, totals)):
        return None
    return dict(zip(lines, zip(covered, totals, strict=True), strict=True))


def _branches_checked(numbers: list[Any], where: str) -> dict[int, tuple[int, int]]:
    """The triples one by one, raising on the first wrong number, named."""
    branches = {}
    for i in range(0, len(numbers), 3):
        line = _int(numbers[i], f"{where}[{i}] (line)", 0, _MAX_LINE)
        total = _int(numbers[i + 2], f"{where}[{i + 2}] (total)")
        branches[line] = (_int(numbers[i + 1], f"{where}[{i + 1}] (covered)", 0, total), total)
    return branches


_SEVERITIES = {severity.value: severity for severity in Severity}
_BASELINE_STATES = ("new", "unchanged", "updated", "absent")


def _decoded_finding(value: object, where: str) -> Finding:
    entry = _list(value, where)
    if len(entry) != 11:
        raise _Bad(f"{where} is not 11 fields")
    severity = _SEVERITIES.get(entry[2]) if isinstance(entry[2], str) else None
    if severity is None:
        raise _Bad(f"{where}[2] (severity) is not one of {', '.join(_SEVERITIES)}")
    suppression = None
    if entry[9] is not None:
        pair = _list(entry[9], f"{where}[9] (suppression)")
        if len(pair) != 2:
            raise _Bad(f"{where}[9] (suppression) is not [kind, justification]")
        suppression = Suppression(
            kind=_text(pair[0], f"{where}[9][0] (kind)", _NAME_LIMIT),
            justification=_text(pair[1], f"{where}[9][1] (justification)", _TEXT_LIMIT),
        )
    state = entry[10]
    if state is not None and state not in _BASELINE_STATES:
        raise _Bad(f"{where}[10] (baseline state) is not one of {', '.join(_BASELINE_STATES)}")
    content = _bytes(entry[8], f"{where}[8] (content)")
    if len(content) > 64:
        raise _Bad(f"{where}[8] (content) is longer than 64 bytes")
    return Finding(
        tool=_text(entry[0], f"{where}[0] (tool)", _NAME_LIMIT),
        rule=_text(entry[1], f"{where}[1] (rule)", _NAME_LIMIT),
        severity=severity,
        tool_severity=_text(entry[3], f"{where}[3] (tool severity)", _NAME_LIMIT),
        path=_text(entry[4], f"{where}[4] (path)", _PATH_LIMIT),
        line=None if entry[5] is None else _int(entry[5], f"{where}[5] (line)", 0, _MAX_LINE),
        message=_text(entry[6], f"{where}[6] (message)", _TEXT_LIMIT),
        fingerprint=_text(entry[7], f"{where}[7] (fingerprint)", _NAME_LIMIT),
        suppression=suppression,
        baseline_state=state,
        content=content,
    )


def _key_problem(value: object) -> str | None:
    """What is wrong with a project, pipeline or part name (the stores' rule, store.parts.part_key_problem)."""
    if not isinstance(value, str):
        return "is not a string"
    if not value:
        return "is empty"
    if len(value) > _KEY_LIMIT:
        return f"is longer than {_KEY_LIMIT} characters"
    if not value.isprintable():
        return "has a control or non-printable character"
    if value != value.strip():
        return "has leading or trailing whitespace"
    return None


# ------------------------------------------------------------------------------------------------ merging


@dataclass(frozen=True, slots=True, kw_only=True)
class PartSummary:
    """One stored attempt of a part, as the verdict's `parts` lists it."""

    name: str
    sha256: str
    size: int  # bytes of its encoded body
    received_at: str  # the store's clock
    replaced: bool  # a later attempt of the same part replaced it
    tests: int
    files: int
    findings: int
    unreadable: bool = False  # it does not decode: not merged, its counts 0

    def to_json(self) -> dict[str, Any]:
        """The verdict's `parts[]` entry."""
        document: dict[str, Any] = {
            "name": self.name,
            "sha256": self.sha256,
            "bytes": self.size,
            "received_at": self.received_at,
            "replaced": self.replaced,
            "counts": {"tests": self.tests, "files": self.files, "findings": self.findings},
        }
        if self.unreadable:
            document["unreadable"] = True
        return document


@dataclass(frozen=True, slots=True, kw_only=True)
class MergedPipeline:
    """Every part of a pipeline merged: the engine decides on `inputs` exactly as on one job's reports.

    `inputs` are the current attempts' reports (parts in name order), each holding the tests, coverage and
    findings it adds to the pipeline: a test or a finding is held by the first report that has it, so
    `parsers.merge(inputs)` (`evidence`) counts each once, and coverage adds up by line.  `parts` lists
    every stored attempt, replaced ones too; `names` the parts merged; `notes` what the merge did.
    """

    inputs: list[ReportInput]
    parts: list[PartSummary]
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """The parts merged (their current attempts), in name order."""
        return [summary.name for summary in self.parts if not summary.replaced]

    @property
    def evidence(self) -> Evidence:
        """The pipeline's evidence, as `decide` takes it (what `check` computes with `parsers.merge`)."""
        from gatekeeper.parsers import merge

        return merge(self.inputs)


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    """ "test 2/12" before "test 10/12": digits compare as numbers."""
    return tuple((0, int(piece)) if piece.isdigit() else (1, piece) for piece in re.split(r"(\d+)", name) if piece)


@dataclass(slots=True)
class _Test:
    """One test id while merging: its outcome so far and where its names and message are."""

    outcome: int
    attempts: int
    flaky: bool
    owner: int  # index of the report that holds it in the merged inputs
    source: tuple[PartTests, int]  # the report and case index that decided its outcome
    retried: str | None = None  # the part whose earlier attempt it failed in (flaky by retry)
    retried_source: tuple[PartTests, int] | None = None


def merge_parts(parts: Sequence[PartRecord]) -> MergedPipeline:
    """Every stored attempt of a pipeline's parts as one pipeline's evidence (see the module's docstring).

    Each body is decoded (an InputError naming the part on a bad one); attempts of one name are ordered by
    the store's `received_at`, the last one counts and the earlier ones only tell which tests are flaky.
    """
    decoded = [(record, _decode_stored(record)) for record in parts]
    attempts: dict[str, list[tuple[PartRecord, Part]]] = {}
    for record, part in sorted(decoded, key=lambda pair: pair[0].received_at):  # stable: the store's order
        attempts.setdefault(record.name, []).append((record, part))
    names = sorted(attempts, key=_natural)
    current = [attempts[name][-1] for name in names]
    earlier = [pair for name in names for pair in attempts[name][:-1]]

    summaries = [
        _summary(record, part, replaced=index < len(attempts[name]) - 1)
        for name in names
        for index, (record, part) in enumerate(attempts[name])
    ]
    notes: list[str] = []
    for name in names:
        if len(attempts[name]) > 1:
            replaced = len(attempts[name]) - 1
            notes.append(
                f"part {name!r} was retried: the attempt received at {attempts[name][-1][0].received_at} "
                f"counts, replacing {replaced} earlier attempt{'s' if replaced != 1 else ''}"
            )
    commits = sorted({part.commit for _, part in current if part.commit})
    if len(commits) > 1:
        notes.append(f"the parts name {len(commits)} different commits: {', '.join(c[:12] for c in commits)}")

    reports = [(part, report) for _, part in current for report in part.reports]
    tests = _merge_tests(reports, earlier, notes)
    findings = _merge_findings(reports, notes)
    inputs = []
    for index, (part, report) in enumerate(reports):
        report_notes = list(report.notes)
        coverage = report.coverage
        if coverage is not None and coverage.totals_only is not None:
            report_notes.append(
                f"part {part.name!r}: coverage given only as totals is added to the pipeline's, not merged by "
                "line (lines covered in two parts count twice)"
            )
        evidence = Evidence(
            tests=tests.get(index) if report.tests is not None else None,
            coverage=coverage,
            findings=findings[index],
            notes=tuple(report_notes),
        )
        inputs.append(ReportInput(path=report.path, format=report.format, sha256=report.sha256, evidence=evidence))
    return MergedPipeline(inputs=inputs, parts=summaries, notes=tuple(notes))


def _decode_stored(record: PartRecord) -> Part:
    """A stored attempt's body, decoded and checked against the key it was stored under (InputError)."""
    source = f"part {record.name!r} ({record.sha256[:12]}, received {record.received_at})"
    part = decode_part(record.body, source)
    for label, stored, claimed in (
        ("project", record.project, part.project),
        ("pipeline", record.pipeline, part.pipeline),
        ("name", record.name, part.name),
    ):
        if stored != claimed:
            raise InputError(source, f"it was stored under {label} {stored!r} but says {claimed!r}")
    return part


def summarise_parts(parts: Sequence[PartRecord]) -> list[PartSummary]:
    """Every stored attempt as the verdict lists it, where they cannot all be merged (one does not decode):
    those that decode with their counts, the others `unreadable` with none, so the error verdict still says
    which parts arrived.  Same order and `replaced` rule as merge_parts."""
    attempts: dict[str, list[PartRecord]] = {}
    for record in sorted(parts, key=lambda record: record.received_at):
        attempts.setdefault(record.name, []).append(record)
    summaries = []
    for name in sorted(attempts, key=_natural):
        for index, record in enumerate(attempts[name]):
            replaced = index < len(attempts[name]) - 1
            try:
                part = _decode_stored(record)
            except InputError:
                summaries.append(
                    PartSummary(
                        name=record.name,
                        sha256=record.sha256,
                        size=record.size,
                        received_at=record.received_at,
                        replaced=replaced,
                        tests=0,
                        files=0,
                        findings=0,
                        unreadable=True,
                    )
                )
            else:
                summaries.append(_summary(record, part, replaced=replaced))
    return summaries


def _summary(record: PartRecord, part: Part, *, replaced: bool) -> PartSummary:
    counts = part.counts
    return PartSummary(
        name=record.name,
        sha256=record.sha256,
        size=record.size,
        received_at=record.received_at,
        replaced=replaced,
        tests=counts["tests"],
        files=counts["files"],
        findings=counts["findings"],
    )


def _merge_tests(
    reports: list[tuple[Part, PartReport]], earlier: list[tuple[PartRecord, Part]], notes: list[str]
) -> dict[int, TestResults]:
    """Each report's share of the pipeline's tests: those it is the first to hold, merged over every part."""
    merged: dict[bytes, _Test] = {}
    repeated = 0
    for owner, (_, report) in enumerate(reports):
        tests = report.tests
        if tests is None:
            continue
        for index, test, outcome, tries in tests.entries():
            known = merged.get(test)
            if known is None:
                merged[test] = _Test(
                    outcome=outcome, attempts=tries, flaky=tries > 1, owner=owner, source=(tests, index)
                )
                continue
            repeated += 1
            known.attempts = max(known.attempts, tries)
            if _WORSE[outcome] > _WORSE[known.outcome]:
                known.outcome, known.source, known.flaky = outcome, (tests, index), tries > 1
            elif outcome == known.outcome == _PASSED and tries > 1 and not known.flaky:
                known.flaky, known.source = True, (tests, index)
    if repeated:
        notes.append(
            f"{repeated} test case{'s' if repeated != 1 else ''} ran in more than one part: each test is counted "
            "once, and a failure in any part is a failure"
        )
    retried = 0
    for record, part in earlier:
        for report in part.reports:
            if report.tests is None:
                continue
            for index, test, outcome, tries in report.tests.entries():
                known = merged.get(test)
                if known is None:
                    continue
                known.attempts += tries
                if outcome in (_FAILED, _ERROR) and known.outcome == _PASSED and known.retried is None:
                    known.retried, known.retried_source = record.name, (report.tests, index)
                    retried += not known.flaky
    if retried:
        notes.append(
            f"{retried} test{'s' if retried != 1 else ''} failed in an earlier attempt of a retried part and "
            "passed in its last: flaky"
        )
    names = _Names()
    shares: dict[int, list[_Test]] = {}
    for merging in merged.values():
        shares.setdefault(merging.owner, []).append(merging)
    results: dict[int, TestResults] = {}
    for owner, (_, report) in enumerate(reports):
        tests = report.tests
        if tests is None:
            continue
        counts = [0, 0, 0, 0]
        flaky = 0
        notable: list[TestCase] = []
        listed: set[int] = set()  # the tests listed already (by id())
        ids = tests.ids or b""
        for index, _ in tests.notable:  # first in the order the report listed them
            share = merged.get(ids[index * ID_BYTES : (index + 1) * ID_BYTES]) if index >= 0 else None
            if share is not None and share.owner == owner and id(share) not in listed:
                listed.add(id(share))
                case = _notable(share, names)
                if case is not None:
                    notable.append(case)
        for share in shares.get(owner, ()):
            counts[share.outcome] += 1
            if share.outcome == _PASSED and (share.flaky or share.retried is not None):
                flaky += 1
            if id(share) not in listed:
                case = _notable(share, names)
                if case is not None:
                    notable.append(case)
        unnamed_notable = tuple(case for index, case in tests.notable if index < 0)
        results[owner] = TestResults(
            passed=counts[_PASSED],
            skipped=counts[_SKIPPED],
            failed=counts[_FAILED],
            errors=counts[_ERROR],
            flaky=flaky,
            duration_seconds=tests.duration_seconds,
            notable=tuple(notable),
        ) + replace(tests.unnamed, notable=unnamed_notable)
    return results


class _Names:
    """The named (notable) cases of each report by case index, looked up once per report."""

    def __init__(self) -> None:
        self._by_report: dict[int, dict[int, TestCase]] = {}

    def __call__(self, tests: PartTests, index: int) -> TestCase | None:
        named = self._by_report.get(id(tests))
        if named is None:
            named = self._by_report[id(tests)] = {at: case for at, case in tests.notable if at >= 0}
        return named.get(index)


def _notable(test: _Test, names: _Names) -> TestCase | None:
    """The named case a verdict lists for a failed, errored or flaky test (None: a plain pass or skip)."""
    case = names(*test.source)
    if test.outcome in (_FAILED, _ERROR):
        return None if case is None else replace(case, attempts=test.attempts)
    if test.outcome != _PASSED:
        return None
    if test.flaky:
        return None if case is None else replace(case, attempts=test.attempts)
    if test.retried is None or test.retried_source is None:
        return None
    failed = names(*test.retried_source)
    if failed is None:
        return None
    message = f"failed in an earlier attempt of part {test.retried!r}, passed in its last: {failed.message}"
    return replace(
        failed,
        outcome=Outcome.PASSED,
        flaky=True,
        message=_cut(message.rstrip(": "), _TEXT_LIMIT),
        attempts=test.attempts,
    )


def _merge_findings(reports: list[tuple[Part, PartReport]], notes: list[str]) -> list[tuple[Finding, ...] | None]:
    """Each report's findings but those an earlier report of the pipeline has (same tool, rule, fingerprint)."""
    seen: set[tuple[str, str, str]] = set()
    repeated = 0
    shares: list[tuple[Finding, ...] | None] = []
    for _, report in reports:
        if report.findings is None:
            shares.append(None)
            continue
        kept = []
        for finding in report.findings:
            key = (finding.tool, finding.rule, finding.fingerprint)
            if key in seen:
                repeated += 1
                continue
            seen.add(key)
            kept.append(finding)
        shares.append(tuple(kept))
    if repeated:
        notes.append(f"{repeated} finding{'s' if repeated != 1 else ''} reported by more than one part: counted once")
    return shares
