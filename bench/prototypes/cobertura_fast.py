"""A prototype of a cheaper hot path for gatekeeper/parsers/cobertura.py, to show the lead what it gains.

It subclasses the real `_Handler` and overrides `start` (its `line` branch copied unchanged) and the
end handling; every other path is gatekeeper's own code, and bench/prototypes/check.py shows the
results are identical.

1. (gatekeeper already reads a `<line/>` inline, with one `int()` each for number and hits.)
2. No end handler outside `<methods>`/`<method>`: `</line>` and `</lines>` (half of all callbacks)
   cost nothing.  A class is closed when the next `<class>` starts or the document ends, the same as
   at `</class>` for Cobertura, whose DTD puts `<line>` only inside a `<class>` (or its methods); a
   stray `<line>` between classes would count for the class before it, where gatekeeper drops it.
3. Inside `<methods>`, an end handler only tracks the nesting; method lines are skipped by one test.
4. `line_mask` is the faster one in `_fast_common` (half the time of `model.line_mask`).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fast_common import line_mask, patched

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers import cobertura
from gatekeeper.parsers._xml import make_parser, parse_file

MAX_LINE = cobertura.MAX_LINE


class _FastHandler(cobertura._Handler):
    def start(self, name: str, attributes: dict[str, str]) -> None:
        # The `line` branch is gatekeeper's own, unchanged; only `method(s)` and `class` differ.
        if name == "line":
            if self.path is None or self.in_method:
                return
            try:  # the common case, kept to two int() calls: plain integers
                number = int(attributes["number"])
                hit = int(attributes["hits"]) > 0
            except (KeyError, ValueError):
                number = cobertura.line_number(attributes.get("number"))
                hit = cobertura.positive(attributes.get("hits"))
            if not 0 <= number <= MAX_LINE:
                if number > MAX_LINE:
                    raise cobertura.LineOutOfRange(number)
                return
            self.statements.append(number)
            self.lines_seen = True
            if hit:
                self.covered.append(number)
            branch = attributes.get("branch")
            if branch is not None:
                self.has_branch_data = True
                if branch.lower() == "true":
                    self._branch(number, attributes.get("condition-coverage"))
        elif name in ("methods", "method"):
            self.in_method += 1
            self.parser.EndElementHandler = self._end_in_methods
        elif name == "class":
            self._close_class()
            super().start(name, attributes)
        else:
            super().start(name, attributes)

    def _end_in_methods(self, name: str) -> None:
        if name in ("methods", "method"):
            self.in_method -= 1
            if not self.in_method:
                self.parser.EndElementHandler = None

    def _close_class(self) -> None:
        if self.path is not None:
            super().end("class")


def parse(path: Path) -> Evidence:
    """`gatekeeper.parsers.cobertura.parse` with the handler above."""
    with patched(cobertura, line_mask=line_mask):
        return _parse(path)


def _parse(path: Path) -> Evidence:
    parser = make_parser()
    handler = _FastHandler(parser)
    parser.StartElementHandler = handler.start_root
    parser.EndElementHandler = None
    try:
        parse_file(parser, path)
    except cobertura.NotCobertura as error:
        raise InputError(path, f"not a Cobertura report: {error}") from None
    except cobertura.LineOutOfRange as error:
        raise InputError(path, str(error)) from None
    if handler.root is None:
        raise InputError(path, "not a Cobertura report: no <coverage> root element")
    handler._close_class()
    coverage, notes = handler.coverage()
    return Evidence(coverage=coverage, notes=notes)
