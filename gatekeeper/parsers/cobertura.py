"""Cobertura XML, as written by coverage.py, gcovr, istanbul, simplecov-cobertura, coverlet and others.

Counting rules (DESIGN.md: counts, merged by line):

- Only `<class><lines><line>` counts.  Producers repeat the same lines under `<methods><method><lines>`;
  those are never read, so no line is counted twice.  Classes naming the same file merge by line.
- A `<line>` is a statement, covered when `hits` > 0 (hits may be huge, or written "1.0").  A `number`
  below 1 (or none) is no line (the DTD's lines, like every editor's, start at 1): skipped, with a note.
  A `hits` that is no count (negative, junk) is read as 0 -- not covered -- as a missing one is, with a
  note quoting the first.
- Branches come from `branch="true"` with `condition-coverage="50% (1/2)"`: covered/total in the
  parentheses.  A branch line whose condition-coverage has no "(covered/total)" is still a statement,
  but its branches are not counted: a bare percentage does not say how many branches there are, and we
  never invent a total.
- Branch data is present when any line of the report carries a `branch` attribute (true or false, any
  case: coverlet writes "True"/"False"); then every file has branch counts, possibly 0/0.  Reports with
  no `branch` attribute anywhere (simplecov; coverage.py without --branch) have no branch data (absent).
- A report with no class-level `<line>` at all but root totals (`lines-valid` > 0) gives totals only,
  with a note.  Its branch totals count only when `branches-valid` > 0: coverage.py without --branch
  writes branches-valid="0" too, so 0/0 with no per-line data means "not measured", not "no branches".
- Where the root's totals (`lines-valid`, `lines-covered`, and with branch data `branches-valid`,
  `branches-covered`) disagree with the entries, the entries count and a note gives both figures:
  coverage.py writes one `<class>` for two files of the same name under different `<source>` roots
  (`tlz/__init__.py`, `toolz/__init__.py`), so its entries hold a line fewer than its root says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from xml.parsers import expat

from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, CoverageTotals, Evidence, FileCoverage
from gatekeeper.parsers._coverage import MAX_LINE, LineOutOfRange, coverage_errors, line_number
from gatekeeper.parsers._security import normalise_path
from gatekeeper.parsers._xml import make_parser, parse_file, to_int
from gatekeeper.words import plural


def condition_coverage(value: str | None) -> tuple[int, int] | None:
    """`"50% (1/2)"` -> (1, 2); None when there is no usable "(covered/total)"."""
    if not value:
        return None
    opening = value.rfind("(")
    closing = value.find(")", opening + 1)
    if opening < 0 or closing < 0:
        return None
    covered, slash, total = value[opening + 1 : closing].partition("/")
    try:
        numbers = int(covered), int(total)
    except ValueError:
        return None
    if not slash or numbers[1] <= 0 or not 0 <= numbers[0] <= numbers[1]:
        return None
    return numbers


def hit_count(value: str | None) -> int:
    """A `hits` that is no plain integer: 1 above zero ("1.0", "1e3"), 0 for zero or none, -1 for no count
    (negative, junk, NaN)."""
    if not value:
        return 0
    try:
        number = float(value)
    except ValueError:
        return -1
    return 1 if number > 0 else 0 if number == 0 else -1


class NotCobertura(Exception):
    """The document is some other XML format."""


class _Handler:
    """The report's state and its cold paths; the hot path, a class-level `<line/>`, is `_install`'s."""

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.root: dict[str, str] | None = None
        self.records: list[FileCoverage] = []
        self.lines_seen = False
        self.has_branch_data = False
        # Branch counts of the open <class>'s lines.
        self.branches: dict[int, tuple[int, int]] = {}
        # `<line>`s whose number is no line, and those whose hits is no count: how many, and the first.
        self.not_lines: list[str | None] = []
        self.not_counts: list[str | None] = []

    def start_root(self, name: str, attributes: dict[str, str]) -> None:
        if name != "coverage":
            raise NotCobertura(f"the root element is <{name}>")
        if "clover" in attributes or "generated" in attributes:
            raise NotCobertura("it is a Clover report (<coverage clover=…>)")
        self.root = attributes

    def branch(self, number: int, attributes: dict[str, str]) -> None:
        """A line with a `branch` attribute: branch data is present, and counted if it says true."""
        self.has_branch_data = True
        if attributes["branch"].lower() != "true":
            return
        counts = condition_coverage(attributes.get("condition-coverage"))
        if counts is None:
            return
        previous = self.branches.get(number)
        if previous is not None:  # a line repeated in one class (gcovr): the best of both
            counts = (max(previous[0], counts[0]), max(previous[1], counts[1]))
        self.branches[number] = counts

    def close_class(self, path: str, statements: list[int], covered: list[int]) -> None:
        if statements:
            self.lines_seen = True
        self.records.append(FileCoverage.from_lines(path, statements, covered, self.branches))
        self.branches = {}

    def coverage(self) -> tuple[Coverage, tuple[str, ...]]:
        assert self.root is not None
        if not self.lines_seen and to_int(self.root.get("lines-valid")) > 0:
            return self._totals_only()
        records = self.records
        if self.has_branch_data:
            records = [r if r.branches is not None else replace(r, branches={}) for r in records]
        coverage = Coverage.of(records)
        return coverage, self._disagreements(coverage) + self._malformed()

    def _malformed(self) -> tuple[str, ...]:
        """Notes on `<line>`s that are no line (skipped) and hit counts that are no count (read as 0)."""
        notes = []
        if self.not_lines:
            notes.append(
                f"{plural(len(self.not_lines), '<line> element')} numbered below 1 or not at all (the first: "
                f"number={_quoted(self.not_lines[0])}) not counted: Cobertura's lines start at 1"
            )
        if self.not_counts:
            notes.append(
                f"{plural(len(self.not_counts), '<line> element')} with hits that is no count (the first: "
                f"hits={_quoted(self.not_counts[0])}) counted as not covered"
            )
        return tuple(notes)

    def _disagreements(self, coverage: Coverage) -> tuple[str, ...]:
        """One note naming each root total that differs from what the entries hold (the entries count)."""
        root = self.root or {}
        files = coverage.files.values()
        counted = {
            "lines-valid": sum(f.lines_total for f in files),
            "lines-covered": sum(f.lines_covered for f in files),
        }
        if self.has_branch_data:
            counted["branches-valid"] = sum(f.branches_total for f in files)
            counted["branches-covered"] = sum(f.branches_covered for f in files)
        differ = [
            f"{name}={root[name]} but its entries hold {value}"
            for name, value in counted.items()
            if name in root and to_int(root[name]) != value
        ]
        if not differ:
            return ()
        return (
            "Cobertura root totals disagree with its <class> entries ("
            + "; ".join(differ)
            + "): the entries are counted",
        )

    def _totals_only(self) -> tuple[Coverage, tuple[str, ...]]:
        root = self.root or {}
        lines_total = to_int(root.get("lines-valid"))
        branches_total = max(to_int(root.get("branches-valid")), 0)
        totals = CoverageTotals(
            lines_covered=min(max(to_int(root.get("lines-covered")), 0), lines_total),
            lines_total=lines_total,
            branches_covered=(
                min(max(to_int(root.get("branches-covered")), 0), branches_total) if branches_total else None
            ),
            branches_total=branches_total or None,
        )
        note = (
            f"Cobertura report has totals only, no per-file lines ({totals.lines_covered} of "
            f"{plural(totals.lines_total, 'line')} covered): counted as given, not mergeable by line"
        )
        return Coverage(files={}, totals_only=totals), (note, *self._malformed())


def _quoted(value: str | None) -> str:
    return "none" if value is None else repr(value[:40])


def _install(parser: expat.XMLParserType, handler: _Handler) -> Callable[[], None]:
    """Set the parser's handlers; returns what closes the last class once the document has ended.

    Speed is the Python work per `<line/>` (a million in a 50 MB report), so that path runs in a
    closure over local variables, with one `int()` each for number and hits, and no end handler:
    a class is closed when the next `<class>` starts or the document ends, which for Cobertura (its
    DTD has `<line>` only inside a class or its methods) is the same as at `</class>`; a stray `<line>`
    between two classes would count for the class before it.  `<methods>` (or a bare `<method>`)
    switches the start handler off until its end tag: method lines repeat the class's, never read.
    """
    path: str | None = None  # the open <class>'s file
    statements: list[int] = []
    covered: list[int] = []
    skipping = ""  # the <methods>/<method> element being skipped
    not_lines, not_counts = handler.not_lines, handler.not_counts

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal path, statements, covered, skipping
        if name == "line":
            if path is None:
                return
            try:  # the common case: plain integers
                number = int(attributes["number"])
                hits = int(attributes["hits"])
            except (KeyError, ValueError):
                number = line_number(attributes.get("number"))
                hits = hit_count(attributes.get("hits"))
            if not 0 < number <= MAX_LINE:
                if number > MAX_LINE:
                    raise LineOutOfRange(number)
                not_lines.append(attributes.get("number"))
                return
            statements.append(number)
            if hits > 0:
                covered.append(number)
            elif hits:  # negative, or junk: no count
                not_counts.append(attributes.get("hits"))
            if "branch" in attributes:
                handler.branch(number, attributes)
        elif name == "methods" or name == "method":
            skipping = name
            parser.StartElementHandler = None
            parser.EndElementHandler = end_skipped
        elif name == "class":
            if path is not None:
                handler.close_class(path, statements, covered)
            path = normalise_path(attributes.get("filename") or attributes.get("name") or "")
            statements, covered = [], []
        elif name == "project":
            raise NotCobertura("it is a Clover report (<coverage><project>)")

    def start_root(name: str, attributes: dict[str, str]) -> None:
        handler.start_root(name, attributes)
        parser.StartElementHandler = start

    def end_skipped(name: str) -> None:
        if name == skipping:
            parser.StartElementHandler = start
            parser.EndElementHandler = None

    def close_last() -> None:
        if path is not None:
            handler.close_class(path, statements, covered)

    parser.StartElementHandler = start_root
    return close_last


def parse(path: Path) -> Evidence:
    """Line and branch coverage per source file of one Cobertura XML report."""
    parser = make_parser()
    handler = _Handler(parser)
    close_last = _install(parser, handler)
    with coverage_errors(path, "Cobertura", NotCobertura):
        parse_file(parser, path)
    if handler.root is None:
        raise InputError(path, "not a Cobertura report: no <coverage> root element")
    close_last()
    coverage, notes = handler.coverage()
    return Evidence(coverage=coverage, notes=notes)
