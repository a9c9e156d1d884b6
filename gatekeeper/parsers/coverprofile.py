"""Go coverprofiles (`go test -coverprofile`, any `-covermode`: set, count, atomic).

Each block `path:startLine.startCol,endLine.endCol numStmts count` becomes line coverage: every line
from startLine to endLine of a block with numStmts > 0 is a statement, and a line is covered when ANY
block spanning it has count > 0.  Blocks of the same file repeated (profiles of several test binaries
run with -coverpkg, concatenated) therefore merge as `go tool cover` merges them: covered if any run
covered it.

The rule matters on boundary lines, where one block ends and the next begins, e.g. `if err != nil {`:
the condition block ends at the `{` and the body block starts there.  `go tool cover -html` colours
the condition text by its own block, so the line shows as run even when the body never ran; JaCoCo's
and gcov's line counters say the same ("a line is covered when any of its code ran").  gocover-cobertura
instead keeps the MINIMUM hit count of consecutive blocks sharing a line, so such `if` lines count as
missed: on the corpus's gorilla/mux profile it reports 742 of 946 lines where this rule gives 798.
Both agree on which lines are statements (946); a closing `}` inside a block counts as one either way,
since a profile has no source text to tell code from braces.

Paths are Go import paths ("github.com/org/repo/pkg/file.go"), kept as given.  Go profiles have no
branch data (branches=None).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, Evidence, FileCoverage
from gatekeeper.parsers import open_report_text
from gatekeeper.parsers._coverage import MAX_LINE

_MODES = frozenset({"set", "count", "atomic"})


def parse(path: Path) -> Evidence:
    """Line coverage per source file of one Go coverprofile."""
    with open_report_text(path) as stream:
        return _parse(stream, path)


def _span_mask(first: int, last: int) -> int:
    """Lines first..last as a bitmask (see `model.line_mask`)."""
    return ((1 << (last - first + 1)) - 1) << first


def _parse(lines: Iterable[str], path: Path) -> Evidence:
    records: list[FileCoverage] = []
    current: str | None = None
    statements = covered = 0
    header_seen = False
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("mode:"):
            mode = line[5:].strip()
            if mode not in _MODES:
                raise InputError(path, f"not a Go coverprofile: line {number} has unknown mode '{mode}'")
            header_seen = True  # concatenated profiles repeat the header: fine
            continue
        if not header_seen:
            raise InputError(path, "not a Go coverprofile: the first line is not 'mode: set|count|atomic'")
        try:
            location, stmts, count = line.rsplit(" ", 2)
            name, _, span = location.rpartition(":")
            start, _, end = span.partition(",")
            first = int(start.partition(".")[0])
            last = int(end.partition(".")[0])
            has_statements = int(stmts) > 0
            ran = int(count) > 0
        except ValueError:
            raise InputError(path, f"line {number} is not a coverprofile block: {line[:120]!r}") from None
        if not name or first <= 0 or last < first:
            raise InputError(path, f"line {number} is not a coverprofile block: {line[:120]!r}")
        if last > MAX_LINE:
            raise InputError(path, f"line {number}: line number {last} is out of range (above {MAX_LINE:,})")
        if name != current:
            if current is not None:
                records.append(FileCoverage(path=current, statements=statements, covered=covered))
            current, statements, covered = name, 0, 0
        if has_statements:
            mask = _span_mask(first, last)
            statements |= mask
            if ran:
                covered |= mask
    if not header_seen:
        raise InputError(path, "not a Go coverprofile: the file is empty")
    if current is not None:
        records.append(FileCoverage(path=current, statements=statements, covered=covered))
    return Evidence(coverage=Coverage.of(records))
