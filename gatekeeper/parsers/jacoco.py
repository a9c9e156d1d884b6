"""JaCoCo XML (the JaCoCo Maven/Gradle/CLI report, and the same format from Pester and gcovr).

Per `<sourcefile name>` inside `<package name>` (path "package/name"; the default package "" gives just
the name), each `<line nr mi ci mb cb>`: a statement when mi + ci > 0 (JaCoCo's own rule: a line with
no instructions is no code), covered when ci > 0; branches (cb, mb + cb) where mb + cb > 0.

A `<line>` with neither mi nor ci carries no execution data at all.  gcovr writes such lines, and its
counters show they are not all statements (bar.cpp lists 4 lines under LINE missed=0 covered=0, foo.cpp
14 lines under a LINE counter of 9), so a line without mi/ci is never counted.  A sourcefile whose lines
all lack mi/ci is counted from its own LINE/BRANCH `<counter>`s instead, as totals (not mergeable by
line), with a note.  A report with no `<sourcefile>` at all falls back to its report-level counters.

Branch data is present when any line has mb + cb > 0 or any BRANCH counter exists (JaCoCo omits the
BRANCH counter where there are no branches; Pester never writes one): then every file has branch counts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from xml.parsers import expat

from gatekeeper.model import Coverage, CoverageTotals, Evidence, FileCoverage
from gatekeeper.parsers._coverage import coverage_errors, line_number
from gatekeeper.parsers._security import normalise_path
from gatekeeper.parsers._xml import make_parser, parse_file, to_int
from gatekeeper.words import plural

#: Elements that own counters; a `<counter>` outside all of them is a report-level total.
_COUNTER_OWNERS = frozenset({"group", "package", "class", "method", "sourcefile"})


def source_path(package: str, name: str) -> str:
    """The file's path: package "org/acme" + "Foo.java" -> "org/acme/Foo.java", without repeats.

    Pester writes package "dir/sub" with sourcefile "sub/File.ps1" for dir/sub/File.ps1.
    """
    package = package.strip("/")
    if not package:
        return normalise_path(name)
    directory, _, _ = name.rpartition("/")
    if directory and (package == directory or package.endswith("/" + directory)):
        package = package[: len(package) - len(directory)].rstrip("/")
    return normalise_path(f"{package}/{name}" if package else name)


class NotJaCoCo(Exception):
    """The document is some other XML format."""


class _Handler:
    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.records: list[FileCoverage] = []
        self.totals: CoverageTotals | None = None
        self.from_counters: list[str] = []
        self.report_counters: dict[str, tuple[int, int]] = {}
        self.sourcefiles = 0
        self.has_branch_data = False
        self.package = ""
        self.nesting = 0
        # The open <sourcefile>, if any.
        self.path: str | None = None
        self.detailed = False
        self.statements: list[int] = []
        self.covered: list[int] = []
        self.branches: dict[int, tuple[int, int]] = {}
        self.counters: dict[str, tuple[int, int]] = {}

    def start_root(self, name: str, attributes: dict[str, str]) -> None:
        if name != "report":
            raise NotJaCoCo(f"the root element is <{name}>")
        self.parser.StartElementHandler = self.start

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "line":
            if self.path is not None:
                self._line(attributes)
        elif name == "counter":
            self._counter(attributes)
        elif name in _COUNTER_OWNERS:
            self.nesting += 1
            if name == "package":
                self.package = attributes.get("name", "")
            elif name == "sourcefile":
                self.sourcefiles += 1
                self.path = source_path(self.package, attributes.get("name", ""))
                self.detailed = False
                self.statements = []
                self.covered = []
                self.branches = {}
                self.counters = {}

    def _line(self, attributes: dict[str, str]) -> None:
        number = line_number(attributes.get("nr"))
        if number < 0:
            return
        mb = max(to_int(attributes.get("mb")), 0)
        cb = max(to_int(attributes.get("cb")), 0)
        if mb + cb > 0:
            self.has_branch_data = True
            previous = self.branches.get(number, (0, 0))
            self.branches[number] = (max(previous[0], cb), max(previous[1], mb + cb))
        mi = attributes.get("mi")
        ci = attributes.get("ci")
        if mi is None and ci is None:
            return
        self.detailed = True
        instructions_covered = max(to_int(ci), 0)
        if max(to_int(mi), 0) + instructions_covered > 0:
            self.statements.append(number)
            if instructions_covered > 0:
                self.covered.append(number)

    def _counter(self, attributes: dict[str, str]) -> None:
        kind = attributes.get("type")
        if kind not in ("LINE", "BRANCH"):
            return
        if kind == "BRANCH":
            self.has_branch_data = True
        covered = max(to_int(attributes.get("covered")), 0)
        counts = (covered, covered + max(to_int(attributes.get("missed")), 0))
        if self.path is not None:
            self.counters[kind] = counts
        elif self.nesting == 0:
            self.report_counters[kind] = counts

    def end(self, name: str) -> None:
        if name not in _COUNTER_OWNERS:
            return
        self.nesting -= 1
        if name == "sourcefile" and self.path is not None:
            self._close_sourcefile(self.path)
            self.path = None
        elif name == "package":
            self.package = ""

    def _close_sourcefile(self, path: str) -> None:
        if not self.detailed and "LINE" in self.counters:
            self.from_counters.append(path)
            self._add_totals(self.counters)
            return
        self.records.append(FileCoverage.from_lines(path, self.statements, self.covered, self.branches))

    def _add_totals(self, counters: dict[str, tuple[int, int]]) -> None:
        lines = counters.get("LINE", (0, 0))
        branches = counters.get("BRANCH")
        totals = CoverageTotals(
            lines_covered=lines[0],
            lines_total=lines[1],
            branches_covered=branches[0] if branches else None,
            branches_total=branches[1] if branches else None,
        )
        self.totals = totals if self.totals is None else self.totals + totals

    def coverage(self) -> tuple[Coverage, tuple[str, ...]]:
        notes: list[str] = []
        if self.from_counters:
            one = len(self.from_counters) == 1
            notes.append(
                f"{plural(len(self.from_counters), 'JaCoCo sourcefile')} {'has' if one else 'have'} <line>s "
                f"without mi/ci (e.g. gcovr's JaCoCo output, first: {self.from_counters[0]}): counted from "
                f"{'its' if one else 'their'} LINE/BRANCH counters as totals, not mergeable by line"
            )
        if self.sourcefiles == 0 and "LINE" in self.report_counters:
            self._add_totals(self.report_counters)
            notes.append("JaCoCo report has totals only, no <sourcefile>: counted from its report counters")
        records = self.records
        if self.has_branch_data:
            records = [r if r.branches is not None else replace(r, branches={}) for r in records]
        coverage = Coverage.of(records)
        if self.totals is not None:
            coverage = Coverage(files=coverage.files, totals_only=self.totals)
        return coverage, tuple(notes)


def parse(path: Path) -> Evidence:
    """Line and branch coverage per source file of one JaCoCo XML report."""
    parser = make_parser()
    handler = _Handler(parser)
    parser.StartElementHandler = handler.start_root
    parser.EndElementHandler = handler.end
    with coverage_errors(path, "JaCoCo", NotJaCoCo):
        parse_file(parser, path)
    coverage, notes = handler.coverage()
    return Evidence(coverage=coverage, notes=notes)
