"""LCOV tracefiles (lcov/geninfo 1.x and 2.x, gcovr, istanbul, coverage.py, grcov, c8 …).

One record per source file: `SF:` … `end_of_record`.  Lines come from `DA:<line>,<hits>[,<checksum>]`
(never from the LF/LH totals, which gcovr counts with duplicates); branches from
`BRDA:<line>,<block>,<branch>,<taken>`: per line, total = number of BRDA, covered = those with
taken > 0 ("-" means the block never ran: 0).  Function records (FN/FNDA/FNL/FNA), checksums (VER),
test names (TN), totals (LF/LH/BRF/BRH) and stray lines such as "EOF" are skipped.  Branch data is
present when any record has a BRDA or BRF line.  A file without any SF: record is refused, as lcov does.

A plain line loop: memory holds one record's line numbers, never the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, Evidence, FileCoverage
from gatekeeper.parsers._coverage import MAX_LINE, positive
from gatekeeper.parsers._security import normalise_path

#: Record keys of the LCOV format (geninfo(1) man page, lcov 2.x included); the first must be one.
_KEYS = frozenset({"TN", "SF", "VER", "FN", "FNDA", "FNF", "FNH", "FNL", "FNA", "BRDA", "BRF", "BRH"}) | {
    "DA",
    "LF",
    "LH",
    "MCDC",
    "MCF",
    "MCH",
    "end_of_record",
}


@dataclass(slots=True)
class _Record:
    """The open SF record: line numbers and per-line [covered, total] branch counts."""

    path: str
    statements: list[int] = field(default_factory=list)
    covered: list[int] = field(default_factory=list)
    branches: dict[int, list[int]] = field(default_factory=dict)

    def close(self) -> FileCoverage:
        branches = {n: (c, t) for n, (c, t) in self.branches.items()}
        return FileCoverage.from_lines(self.path, self.statements, self.covered, branches)


def parse(path: Path) -> Evidence:
    """Line and branch coverage per source file of one LCOV tracefile."""
    with open(path, encoding="utf-8", errors="replace") as stream:
        return _parse(stream, path)


def _line(text: str, at: int, path: Path) -> int:
    """A DA/BRDA line number: ValueError (a malformed record) if negative, InputError above MAX_LINE."""
    n = int(text)
    if n > MAX_LINE:
        raise InputError(path, f"line {at}: line number {n} is out of range (above {MAX_LINE:,}): a corrupt report?")
    if n < 0:
        raise ValueError(text)
    return n


def _parse(lines: Iterable[str], path: Path) -> Evidence:
    records: list[FileCoverage] = []
    record: _Record | None = None
    has_branch_data = False
    recognised = False
    malformed: list[int] = []
    notes: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw if raw.startswith("DA:") else raw.strip()
        try:
            if line.startswith("DA:"):  # the hot path: no strip, int() ignores the newline
                if record is not None:
                    line_number, _, rest = line[3:].partition(",")
                    n = int(line_number)
                    if not 0 <= n <= MAX_LINE:
                        n = _line(line_number, number, path)
                    record.statements.append(n)
                    hits = rest.partition(",")[0]
                    try:
                        hit = int(hits) > 0
                    except ValueError:
                        hit = positive(hits.strip())
                    if hit:
                        record.covered.append(n)
            elif line.startswith("BRDA:"):
                has_branch_data = True
                if record is not None:
                    body = line[5:]
                    n = _line(body.partition(",")[0], number, path)
                    taken = body.rpartition(",")[2].strip()
                    counts = record.branches.setdefault(n, [0, 0])
                    counts[1] += 1
                    if taken != "-" and positive(taken):
                        counts[0] += 1
            elif line.startswith("SF:"):
                if record is not None:
                    records.append(record.close())
                    notes.append(f"LCOV record for {record.path} has no end_of_record: read up to next SF")
                record = _Record(normalise_path(line[3:].strip()))
                recognised = True
            elif line == "end_of_record":
                if record is not None:
                    records.append(record.close())
                    record = None
            elif line.startswith("BRF:"):
                has_branch_data = True
            elif not recognised and line:
                if line.partition(":")[0] not in _KEYS:
                    raise InputError(path, f"not an LCOV tracefile: line {number} is not an LCOV record")
                recognised = True
        except ValueError:
            malformed.append(number)
    if record is not None:
        records.append(record.close())
        notes.append(f"LCOV record for {record.path} has no end_of_record (a truncated file?); read as is")
    if not records:
        raise InputError(path, "not an LCOV tracefile: no SF: record (an empty tracefile)")
    if malformed:
        notes.append(f"{len(malformed)} malformed LCOV line(s) skipped, first at line {malformed[0]}")
    if has_branch_data:
        records = [r if r.branches is not None else replace(r, branches={}) for r in records]
    return Evidence(coverage=Coverage.of(records), notes=tuple(notes))
