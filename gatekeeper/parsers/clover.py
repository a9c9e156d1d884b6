"""Clover XML (OpenClover, and the Clover-format output of istanbul, gcovr, PHPUnit and others).

Per `<file>` of `<project>` (path attribute, else name), per `<line num type>`:

- `type="stmt"`: a statement, covered when `count` > 0.
- `type="cond"`: a statement too, and branches.  The two producers disagree on truecount/falsecount:
  OpenClover writes how often the condition was true and false (no `count` attribute): 2 branches,
  covered = (truecount > 0) + (falsecount > 0), line covered when either is > 0.  istanbul writes the
  number of covered and of missed branches, and the line's `count` (its clover reporter sets
  truecount = covered, falsecount = total - covered): truecount / (truecount + falsecount), line covered
  when count > 0.  The `count` attribute tells them apart; the corpus's istanbul file confirms it against
  its own `<metrics conditionals coveredconditionals>`.  Several cond lines on one line (OpenClover
  writes one per condition, e.g. `a && b`) add up.
- `type="method"`: not a statement.  Clover counts methods apart from statements (its `statements`
  metric excludes them) and every producer writes the method's body as stmt lines, so counting the
  declaration line would make our totals disagree with the report's own.
- `<testproject>` (coverage of the test sources; a dummy file in gcovr's output) is not read.

Branch data is present when the report has any cond line; then every file has branch counts.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from xml.parsers import expat

from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, Evidence, FileCoverage
from gatekeeper.parsers._coverage import coverage_errors, line_number, positive
from gatekeeper.parsers._security import normalise_path
from gatekeeper.parsers._xml import make_parser, parse_file, to_int


class NotClover(Exception):
    """The document is some other XML format."""


class _Handler:
    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.records: list[FileCoverage] = []
        self.has_branch_data = False
        self.confirmed = False  # a Clover root attribute or a <project> seen
        self.in_project = False
        # The open <file>, if any.
        self.path: str | None = None
        self.statements: list[int] = []
        self.covered: list[int] = []
        self.branches: dict[int, tuple[int, int]] = {}

    def start_root(self, name: str, attributes: dict[str, str]) -> None:
        if name != "coverage":
            raise NotClover(f"the root element is <{name}>")
        if "clover" in attributes or "generated" in attributes:
            self.confirmed = True
            self.parser.StartElementHandler = self.start
        else:  # the first child decides: Clover's <project>, or Cobertura's <sources>/<packages>
            self.parser.StartElementHandler = self.start_child

    def start_child(self, name: str, attributes: dict[str, str]) -> None:
        if name != "project":
            raise NotClover(f"<coverage> holds <{name}>, not <project> (a Cobertura report?)")
        self.parser.StartElementHandler = self.start
        self.start(name, attributes)

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "line":
            if self.path is not None:
                self._line(attributes)
        elif name == "file":
            if self.in_project:
                self.path = normalise_path(attributes.get("path") or attributes.get("name") or "")
                self.statements = []
                self.covered = []
                self.branches = {}
        elif name == "project":
            self.in_project = self.confirmed = True
        elif name in ("packages", "sources"):
            raise NotClover(f"<coverage> holds <{name}> (a Cobertura report?)")

    def _line(self, attributes: dict[str, str]) -> None:
        kind = attributes.get("type")
        if kind == "method":
            return
        number = line_number(attributes.get("num"))
        if number < 0:
            return
        if kind == "cond":
            self.has_branch_data = True
            true_count = to_int(attributes.get("truecount"))
            false_count = to_int(attributes.get("falsecount"))
            count = attributes.get("count")
            if count is None:  # OpenClover: evaluation counts of one condition, 2 branches
                covered = true_count > 0 or false_count > 0
                branches = ((true_count > 0) + (false_count > 0), 2)
            else:  # istanbul: covered and missed branch counts
                covered = positive(count)
                branches = (max(true_count, 0), max(true_count, 0) + max(false_count, 0))
            if branches[1] > 0:  # OpenClover writes one cond line per condition: `a && b` adds up
                previous = self.branches.get(number, (0, 0))
                self.branches[number] = (previous[0] + branches[0], previous[1] + branches[1])
        elif kind == "stmt":
            covered = positive(attributes.get("count"))
        else:
            return
        self.statements.append(number)
        if covered:
            self.covered.append(number)

    def end(self, name: str) -> None:
        if name == "file" and self.path is not None:
            self.records.append(FileCoverage.from_lines(self.path, self.statements, self.covered, self.branches))
            self.path = None
        elif name == "project":
            self.in_project = False

    def coverage(self) -> Coverage:
        records = self.records
        if self.has_branch_data:
            records = [r if r.branches is not None else replace(r, branches={}) for r in records]
        return Coverage.of(records)


def parse(path: Path) -> Evidence:
    """Line and branch coverage per source file of one Clover XML report."""
    parser = make_parser()
    handler = _Handler(parser)
    parser.StartElementHandler = handler.start_root
    parser.EndElementHandler = handler.end
    with coverage_errors(path, "Clover", NotClover):
        parse_file(parser, path)
    if not handler.confirmed:
        raise InputError(path, "not a Clover report: no <project> element")
    return Evidence(coverage=handler.coverage())
