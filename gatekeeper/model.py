"""Evidence: the normalised, format-independent model every parser produces.

Counts cross module boundaries, never percentages (those are derived in `metrics`).  Passing test
cases are only counted; cases are kept in detail only where a person needs to read them (failed,
errored, flaky), so memory does not grow with the size of a green test suite.

The closed sets a verdict records (`Decision`, `GateStatus`) are here too, where the stores and the
server can read them without importing the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, TypeVar


class Decision(str, Enum):
    """A verdict's status: the one place `pass|warn|fail|error` is spelled (stores, CLI, server read it)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class GateStatus(str, Enum):
    """A gate's status in a verdict."""

    PASS = "pass"
    FAIL = "fail"  # a blocking gate failed
    WARN = "warn"  # a warning gate failed, or an absent metric with if_absent: warn
    SKIP = "skip"  # not applicable on this branch, or an absent metric with if_absent: skip


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class Severity(str, Enum):
    """Normalised finding severity, most severe first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class TestCase:
    """A test case worth naming in a verdict: failed, errored, or flaky (passed after re-runs)."""

    __test__ = False  # not a pytest test class

    suite: str
    classname: str
    name: str
    outcome: Outcome
    duration_seconds: float = 0.0
    message: str = ""
    flaky: bool = False
    #: How often the report ran it (re-runs: Surefire's rerun/flaky elements, repeated cases); 1 when once.
    attempts: int = 1


def case_id(classname: str, name: str) -> str:
    """A test's id across verdicts: `classname.name`, or `name` with no classname (as quarantine matches)."""
    return f"{classname}.{name}" if classname else name


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResults:
    """Test case counts from one or more JUnit-style reports; merging adds counts."""

    __test__ = False

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    flaky: int = 0
    #: Failures a policy quarantine covers, moved out of `failed`/`errors` (gatekeeper.quarantine);
    #: None where no policy quarantine was applied, so `tests.quarantined` is absent, not 0.
    quarantined: int | None = None
    duration_seconds: float = 0.0
    notable: tuple[TestCase, ...] = ()

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped + (self.quarantined or 0)

    def __add__(self, other: TestResults) -> TestResults:
        return TestResults(
            passed=self.passed + other.passed,
            failed=self.failed + other.failed,
            errors=self.errors + other.errors,
            skipped=self.skipped + other.skipped,
            flaky=self.flaky + other.flaky,
            quarantined=None
            if self.quarantined is None and other.quarantined is None
            else (self.quarantined or 0) + (other.quarantined or 0),
            duration_seconds=self.duration_seconds + other.duration_seconds,
            notable=self.notable + other.notable,
        )


_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def line_mask(lines: Iterable[int]) -> int:
    """A set of line numbers as an int bitmask (bit n = line n): compact, and merging is `|`.

    One byte per line, then one C-speed conversion: twice as fast as setting bits one by one.
    """
    numbers = [n for n in lines if n >= 0]
    if not numbers:
        return 0
    flags = bytearray(max(numbers) + 1)
    for n in numbers:
        flags[n] = 1
    return int(flags[::-1].translate(_AS_DIGITS), 2)


def mask_lines(mask: int) -> list[int]:
    """The line numbers set in a bitmask, ascending."""
    data = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    return [i * 8 + bit for i, byte in enumerate(data) if byte for bit in range(8) if byte >> bit & 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileCoverage:
    """Line (and, where the format has them, branch) coverage of one source file.

    `statements` and `covered` are line bitmasks (see `line_mask`); `covered` is a subset of
    `statements`.  `branches` maps a line to (covered, total) branch counts, or is None when the
    report carries no branch data for this file.
    """

    path: str
    statements: int
    covered: int
    branches: Mapping[int, tuple[int, int]] | None = None

    @classmethod
    def from_lines(
        cls,
        path: str,
        statements: Iterable[int],
        covered: Iterable[int],
        branches: Mapping[int, tuple[int, int]] | None,
    ) -> FileCoverage:
        """A file's record from the line numbers a parser collected; empty branch data means none."""
        return cls(path=path, statements=line_mask(statements), covered=line_mask(covered), branches=branches or None)

    @property
    def lines_total(self) -> int:
        return self.statements.bit_count()

    @property
    def lines_covered(self) -> int:
        return self.covered.bit_count()

    @property
    def branches_total(self) -> int:
        return sum(total for _, total in self.branches.values()) if self.branches else 0

    @property
    def branches_covered(self) -> int:
        return sum(covered for covered, _ in self.branches.values()) if self.branches else 0

    def merge(self, other: FileCoverage) -> FileCoverage:
        """Union by line: a line is covered if any report covered it; per branch line, the best count."""
        if self.branches is None or other.branches is None:
            branches = self.branches if other.branches is None else other.branches
        else:
            branches = dict(self.branches)
            for line, (covered, total) in other.branches.items():
                mine = branches.get(line, (0, 0))
                branches[line] = (max(mine[0], covered), max(mine[1], total))
        return FileCoverage(
            path=self.path,
            statements=self.statements | other.statements,
            covered=self.covered | other.covered,
            branches=branches,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageTotals:
    """Counts a report gives only as totals, with no per-file detail to merge by line."""

    lines_covered: int = 0
    lines_total: int = 0
    branches_covered: int | None = None
    branches_total: int | None = None

    def __add__(self, other: CoverageTotals) -> CoverageTotals:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return CoverageTotals(
            lines_covered=self.lines_covered + other.lines_covered,
            lines_total=self.lines_total + other.lines_total,
            branches_covered=add(self.branches_covered, other.branches_covered),
            branches_total=add(self.branches_total, other.branches_total),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Coverage merged over reports: per source file by line, plus any totals-only reports."""

    files: Mapping[str, FileCoverage] = field(default_factory=dict)
    totals_only: CoverageTotals | None = None

    @classmethod
    def of(cls, files: Iterable[FileCoverage]) -> Coverage:
        """Coverage of several file records; records of the same path (e.g. split classes) merge."""
        merged: dict[str, FileCoverage] = {}
        for record in files:
            previous = merged.get(record.path)
            merged[record.path] = record if previous is None else previous.merge(record)
        return cls(files=merged)

    def __add__(self, other: Coverage) -> Coverage:
        merged = Coverage.of([*self.files.values(), *other.files.values()])
        if self.totals_only is None or other.totals_only is None:
            totals = self.totals_only or other.totals_only
        else:
            totals = self.totals_only + other.totals_only
        return Coverage(files=merged.files, totals_only=totals)


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    """Why the tool itself set a finding aside (SARIF `suppressions`): where (`inSource`, `external`) and why."""

    kind: str
    justification: str = ""


#: SARIF `baselineState` (§3.27.24): how a result compares with the baseline run its tool was given.
BaselineState = Literal["new", "unchanged", "updated", "absent"]

#: How many of a report's findings a parser keeps in full detail (message, suppression justification):
#: the first in `finding_order`, counted apart for active and for suppressed findings.  Ten times what a
#: verdict lists (verdict.LIST_LIMIT), so the verdict's list stays whole when policy waivers set aside up
#: to 900 of them; the others keep only what the gate counts and matches, so memory per finding stays small.
DETAILED_FINDINGS = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One security finding, normalised; `tool_severity` keeps what the tool said, for overrides.

    A finding with a `suppression` is no active finding: it counts as waived.  Findings of a large report
    are compact: past the first DETAILED_FINDINGS in `finding_order`, `message` is "" and a suppression
    keeps its kind but not its justification; everything a gate, a waiver or a baseline reads stays.
    """

    tool: str
    rule: str
    severity: Severity
    tool_severity: str
    path: str
    line: int | None
    message: str
    fingerprint: str
    suppression: Suppression | None = None
    baseline_state: BaselineState | None = None
    #: What was found, without where: the fingerprint's material but its path (8 bytes of blake2b), so a
    #: baseline knows a finding in a renamed file (gatekeeper.known.content_key).  b"" when not computed.
    content: bytes = b""


#: Most severe first: the rank `finding_order` sorts by.
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}


def finding_order(finding: Finding) -> tuple[int, str, int]:
    """The order a verdict lists findings in: most severe first, then by path and line."""
    return SEVERITY_RANK[finding.severity], finding.path, finding.line or 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What one or more reports say; a family is None when no report of it was read (absent)."""

    tests: TestResults | None = None
    coverage: Coverage | None = None
    findings: tuple[Finding, ...] | None = None
    notes: tuple[str, ...] = ()

    def __add__(self, other: Evidence) -> Evidence:
        return Evidence(
            tests=_add(self.tests, other.tests),
            coverage=_add(self.coverage, other.coverage),
            findings=_add(self.findings, other.findings),
            notes=self.notes + other.notes,
        )


_Family = TypeVar("_Family", TestResults, Coverage, tuple[Finding, ...])


def _add(a: _Family | None, b: _Family | None) -> _Family | None:
    """Merge two families of evidence; None (absent) is the identity, not zero."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInput:
    """One report file read for a run: where, what format, its digest and its own counts."""

    path: str
    format: str
    sha256: str
    evidence: Evidence
