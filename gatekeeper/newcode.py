"""New code: what a change adds, judged on the reports and on the baseline verdict.

Changed lines are counted as diff-cover counts them: a changed line counts when the coverage report
measures it (lists it as a statement), and a changed file the report does not list adds nothing.  A
finding is new when it sits on a changed line or when the baseline verdict does not know its key; in a
file the change renamed or copied, the key at the file's old path counts as known too.  The scanner's own
SARIF `baselineState` wins over both.  A failure is new when the baseline verdict did not
fail that test too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gatekeeper.change import Change, ChangedFile, FileStatus
from gatekeeper.known import KeySet, case_key, content_key, finding_key
from gatekeeper.model import Coverage, Evidence, FileCoverage, Finding, Outcome, TestCase, mask_lines


@dataclass(frozen=True, slots=True, kw_only=True)
class FileNewCode:
    """One changed file against the coverage report: its changed lines the report measures and covers."""

    changed: ChangedFile
    measured: int | None = None  # changed lines the report measures (a bitmask); None: the report has no such file
    covered: int = 0
    branches: tuple[int, int] | None = None  # (covered, total) branches on changed lines; None: no branch data

    @property
    def path(self) -> str:
        return self.changed.path

    @property
    def uncovered(self) -> int:
        """The changed lines the report measures and no test ran, as a bitmask."""
        return (self.measured or 0) & ~self.covered


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCode:
    """The change, judged: per file its changed-lines coverage, and the findings and failures it adds.

    `findings` is None without a scan report; `failures` is None without a test report or without a
    baseline verdict that knows its failures (nothing to tell new ones by).
    """

    change: Change
    files: tuple[FileNewCode, ...] = ()  # in path order
    coverage: bool = False  # a coverage report with per-file data was read
    branch_data: bool = False  # ... and it has branch data
    findings: tuple[Finding, ...] | None = None
    failures: tuple[TestCase, ...] | None = None
    by_fingerprint: bool = False  # findings were compared with every key of the baseline's findings too


def judge(
    evidence: Evidence,
    change: Change,
    *,
    known_findings: KeySet | None = None,
    known_failures: KeySet | None = None,
) -> NewCode:
    """The change judged on `evidence` (after waivers), and on what the baseline verdict knew."""
    coverage = evidence.coverage
    measured = coverage is not None and (bool(coverage.files) or coverage.totals_only is None)
    files = tuple(_file(changed, coverage) for _, changed in sorted(change.files.items()))
    by_fingerprint = known_findings is not None and known_findings.complete
    return NewCode(
        change=change,
        files=files,
        coverage=measured,
        branch_data=measured and coverage is not None and any(f.branches is not None for f in coverage.files.values()),
        findings=None
        if evidence.findings is None
        else tuple(
            finding
            for finding in evidence.findings
            if finding.suppression is None and _is_new(finding, change, known_findings if by_fingerprint else None)
        ),
        failures=None
        if evidence.tests is None or known_failures is None or not known_failures.complete
        else tuple(
            case
            for case in evidence.tests.notable
            if case.outcome in (Outcome.FAILED, Outcome.ERROR)
            and not known_failures.knows(case_key(case.classname, case.suite, case.name))
        ),
        by_fingerprint=by_fingerprint,
    )


def _file(changed: ChangedFile, coverage: Coverage | None) -> FileNewCode:
    report: FileCoverage | None = coverage.files.get(changed.path) if coverage is not None else None
    if report is None:
        return FileNewCode(changed=changed)
    added = changed.added
    branches = None
    if report.branches is not None:
        pairs = [counts for line, counts in report.branches.items() if added >> line & 1]
        branches = (sum(covered for covered, _ in pairs), sum(total for _, total in pairs))
    return FileNewCode(
        changed=changed, measured=report.statements & added, covered=report.covered & added, branches=branches
    )


def _is_new(finding: Finding, change: Change, known: KeySet | None) -> bool:
    state = finding.baseline_state  # the scanner compared with its own baseline: it knows best
    if state is not None:
        return state == "new"
    changed = change.files.get(finding.path)
    if changed is not None and finding.line is not None and changed.added >> finding.line & 1:
        return True
    if known is None:
        return False
    paths = [finding.path]
    if changed is not None and changed.status in _MOVED and changed.old_path:
        paths.append(changed.old_path)
    if any(known.knows(content_key(finding.tool, finding.rule, path, finding.content)) for path in paths):
        return False
    # a baseline verdict from before `baseline_keys` knows the keys its details list, by fingerprint
    return not known.knows(finding_key(finding.tool, finding.rule, finding.fingerprint))


_MOVED = (FileStatus.RENAMED, FileStatus.COPIED)


def line_ranges(mask: int) -> list[tuple[int, int]]:
    """The lines of a bitmask as (first, last) ranges: lines 3, 4, 5 and 9 are (3, 5), (9, 9)."""
    ranges: list[tuple[int, int]] = []
    for line in mask_lines(mask):
        if ranges and ranges[-1][1] == line - 1:
            ranges[-1] = (ranges[-1][0], line)
        else:
            ranges.append((line, line))
    return ranges


def ranges_text(ranges: Sequence[tuple[int, int]]) -> str:
    """Ranges as diff-cover and people write them: "6-7,30"."""
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in ranges)


def ranges_of(text: str) -> tuple[tuple[int, int], ...]:
    """The ranges `ranges_text` wrote (a schema-valid string)."""
    pairs = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        pairs.append((int(first), int(last or first)))
    return tuple(pairs)
