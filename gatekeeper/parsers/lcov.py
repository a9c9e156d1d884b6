"""LCOV tracefiles (lcov/geninfo 1.x and 2.x, gcovr, istanbul, coverage.py, grcov, c8 …).

One record per source file: `SF:` … `end_of_record`.  Lines come from `DA:<line>,<hits>[,<checksum>]`
(never from the LF/LH totals, which gcovr counts with duplicates); branches from
`BRDA:<line>,<block>,<branch>,<taken>`: per line, total = number of BRDA, covered = those with
taken > 0 ("-" means the block never ran: 0).  Function records (FN/FNDA/FNL/FNA), checksums (VER),
test names (TN), totals (LF/LH/BRF/BRH) and stray lines such as "EOF" are skipped.  Branch data is
present when any record has a BRDA or BRF line.  A file without any SF: record is refused, as lcov does.

Two readers, one meaning.  `_Reader.careful` reads line by line and defines the format here.  A record's
body in the shape every producer writes (`DA:<line>,<hits>`, `BRDA:<line>,<block>,<branch>,<taken|->`,
every other line starting with a capital letter) is read by `_Reader.body` instead: by the optional C
extension `_lcov_speedups` where it is built (one pass to check the body's shape, one to set its lines'
bits; DA checksums and BRDA blocks and branches in words, as gcovr and coverage.py write them, too), else
with C-speed operations over each run of DA and BRDA lines (`bytes.translate` checks the shape, `split`
and a table read the numbers, `Counter` and `compress` count them).  A body in any other shape (spaces,
signs, non-ASCII, lower-case lines …) goes to the careful reader.  tests/parsers/test_lcov_fast.py holds
the three to the same evidence, line numbers and notes.

The file is read in binary chunks of whole lines: memory holds one chunk and one record's line
numbers, never the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import compress, repeat
from operator import not_
from pathlib import Path
from typing import NamedTuple

from gatekeeper.errors import InputError
from gatekeeper.model import Coverage, Evidence, FileCoverage
from gatekeeper.parsers import open_report, pieces
from gatekeeper.parsers._coverage import MAX_LINE, positive
from gatekeeper.parsers._security import normalise_path
from gatekeeper.words import plural

try:  # a record's body in C (_lcov_speedups.c), when the optional extension was built
    from gatekeeper.parsers._lcov_speedups import body as _body
except ImportError:  # pragma: no cover - installed without a C compiler: the pure-Python body below
    _body = None  # type: ignore[assignment]

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

_DIGITS = b"0123456789"
#: A line that starts with other than a capital letter (or is empty): strip() might change its key.
_ODD_START = re.compile(rb"\n[^A-Z\n]")
_LEADING_ZERO = re.compile(rb",0[0-9]+\n")
_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


@dataclass(slots=True)
class _Record:
    """The open SF record: its DA line numbers, those with 0 hits, and per-line BRDA counts.

    Uncovered lines are the fewer (a fifth in the benchmark), so the covered ones are worked out from them.
    The C body reader sets bits instead (bit n of a little-endian bitmap for line n): every DA line in
    `statement_bits`, those with hits in `covered_bits`; a line is covered when any of its DA lines has hits,
    so the two ways add up by `|`.
    """

    path: str
    statements: list[int] = field(default_factory=list)
    uncovered: list[int] = field(default_factory=list)
    statement_bits: bytearray = field(default_factory=bytearray)
    covered_bits: bytearray = field(default_factory=bytearray)
    branch_totals: Counter[int] = field(default_factory=Counter)  # BRDA lines per line, in order of appearance
    branches_taken: Counter[int] = field(default_factory=Counter)

    def close(self) -> FileCoverage:
        totals, taken = self.branch_totals, self.branches_taken
        branches = dict(zip(totals, zip(map(taken.get, totals, repeat(0)), totals.values(), strict=True), strict=True))
        statements = _mask(self.statements)
        if statements.bit_count() == len(self.statements):  # one DA line per line: covered unless 0 hits
            covered = statements & ~_mask(self.uncovered)
        else:  # covered if any of its DA lines has hits
            zero = Counter(self.uncovered)
            covered = _mask([n for n, times in Counter(self.statements).items() if times > zero[n]])
        if self.statement_bits:
            statements |= int.from_bytes(self.statement_bits, "little")
            covered |= int.from_bytes(self.covered_bits, "little")
        return FileCoverage(path=self.path, statements=statements, covered=covered, branches=branches or None)


def _mask(numbers: list[int]) -> int:
    """`model.line_mask` for numbers known to be in 0..MAX_LINE (both readers check): one loop, not two."""
    if not numbers:
        return 0
    flags = bytearray(max(numbers) + 1)
    for n in numbers:
        flags[n] = 1
    return int(flags[::-1].translate(_AS_DIGITS), 2)


class _Run(NamedTuple):
    """A run of DA or BRDA lines: the newlines before its first line and after its last (-1 if there is
    none), each line's number, and its hits or taken count, empty where that is 0 (or "-")."""

    begin: int
    end: int
    numbers: list[int]
    counts: list[bytes]


_NO_RUN = _Run(-1, -1, [], [])

#: Line numbers as `int()` reads them, for the common ones: a dictionary look-up costs a fifth of `int()`.
_NUMBERS = {b"%d" % n: n for n in range(10_000)}


def _run(data: bytes, at: int, stop: int, key: bytes, fields: int) -> _Run | None:
    """The run of `key` lines between data[at] and data[stop], or None unless they are all
    `key<digits>(,<digits>){fields - 1}` ("-" too as BRDA's last), with no leading zero in the last."""
    begin = data.find(key, at, stop)
    if begin < 0:
        return _NO_RUN
    end = data.find(b"\n", data.rfind(key, begin, stop) + 1, stop + 1)
    text = data[begin + 1 : end + 1]
    if fields == 4:
        text = text.replace(b",-\n", b",0\n")  # "-": never evaluated, counted as 0
    shape = key[1:] + b"," * (fields - 1) + b"\n"
    bare = text.translate(None, _DIGITS)
    if bare != shape * (len(bare) // len(shape)):  # each line: the key, then digits and commas alone
        return None
    # A count of 0 made empty, for `compress`.  An empty field reads as the careful reader reads it: the
    # count as 0, a middle field not at all, the line number not (KeyError, then ValueError below).
    text = text.replace(b",0\n", b",\n")
    if (b",0" in text) if fields == 2 else _LEADING_ZERO.search(text):  # a count "00" (0) or "01" (1)
        return None
    values = text[len(key) - 1 : -1].replace(key, b",").split(b",")
    if len(values) != fields * (len(bare) // len(shape)):  # a digit inside a key ("BRD1A:") hid it from replace
        return None
    try:
        numbers = list(map(_NUMBERS.__getitem__, values[0::fields]))
    except KeyError:  # large numbers, leading zeros: rare
        try:
            numbers = list(map(int, values[0::fields]))
        except ValueError:  # more digits than int() reads
            return None
        if max(numbers) > MAX_LINE:
            return None
    return _Run(begin, end, numbers, values[fields - 1 :: fields])


def parse(path: Path) -> Evidence:
    """Line and branch coverage per source file of one LCOV tracefile."""
    with open_report(path) as stream:
        return _parse(pieces(stream), path)


def _parse(chunks: Iterable[bytes], path: Path, fast: bool = True) -> Evidence:
    """The evidence of a tracefile's bytes; `fast=False` reads every line with the careful reader."""
    reader = _Reader(path, fast)
    for lines in _whole_lines(chunks):
        reader.feed(lines)
    return reader.finish()


def _whole_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes in runs of whole lines, each ending with a newline (except perhaps the file's last).

    Newlines as text mode reads them (what the reader always did): `\\r\\n` and a lone `\\r` are `\\n`.
    A `\\r` ending a chunk waits for the next one, which may start with its `\\n`.
    """
    pending: list[bytes] = []  # the start of a line that has not ended yet
    held_cr = False
    for chunk in chunks:
        if held_cr:
            chunk, held_cr = b"\r" + chunk, False
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                chunk, held_cr = chunk[:-1], True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            pending.append(chunk)
            continue
        yield b"".join([*pending, chunk[:cut]]) if pending else chunk[:cut]
        pending = [chunk[cut:]] if cut < len(chunk) else []
    if held_cr:
        pending.append(b"\n")
    if rest := b"".join(pending):
        yield rest


def _line(text: str, at: int, path: Path) -> int:
    """A DA/BRDA line number: ValueError (a malformed record) if negative, InputError above MAX_LINE."""
    n = int(text)
    if n > MAX_LINE:
        raise InputError(path, f"line {at}: line number {n} is out of range (above {MAX_LINE:,}): a corrupt report?")
    if n < 0:
        raise ValueError(text)
    return n


class _Reader:
    """The state of one tracefile's reading: the records so far, the open one, the line number."""

    def __init__(self, path: Path, fast: bool) -> None:
        self.path = path
        self.fast = fast
        self.records: list[FileCoverage] = []
        self.record: _Record | None = None
        self.has_branch_data = False
        self.recognised = False
        self.malformed: list[int] = []
        self.notes: list[str] = []
        self.number = 0  # of the last line read

    def feed(self, lines: bytes) -> None:
        """Read whole lines: record bodies by `body` where their shape allows, the rest carefully."""
        if not self.fast:
            self.careful(lines.decode("utf-8", "replace").split("\n")[: -1 if lines.endswith(b"\n") else None])
            return
        data = b"\n" + lines  # every line starts after a newline, the first one too
        size = len(data)
        last = data.rfind(b"\n")  # the end of the last whole line
        at = 0  # data[at] is the newline before the next line to read
        next_sf = next_end = -2  # where the next SF: and end_of_record lines start (-1: none left), found once
        while at < last:
            if next_sf != -1 and next_sf < at:
                next_sf = data.find(b"\nSF:", at, last)
            if self.record is None:  # between records: carefully, up to and including the next SF: line
                stop = last if next_sf < 0 else data.find(b"\n", next_sf + 1)
                self.careful(data[at + 1 : stop].decode("utf-8", "replace").split("\n"))
                at = stop
                continue
            if next_end != -1 and next_end < at:
                next_end = data.find(b"\nend_of_record", at, last)
            stop = last
            if 0 <= next_sf < stop:
                stop = next_sf
            if 0 <= next_end < stop:
                stop = next_end
            if stop == at:  # the record ends here: this one line carefully
                stop = data.find(b"\n", at + 1)
                self.careful([data[at + 1 : stop].decode("utf-8", "replace")])
            elif not self.body(data, at, stop):
                self.careful(data[at + 1 : stop].decode("utf-8", "replace").split("\n"))
            at = stop
        if last + 1 < size:  # the file's last line, without a newline
            self.careful([data[last + 1 :].decode("utf-8", "replace")])

    def body(self, data: bytes, at: int, stop: int) -> bool:
        """Read the lines between the newlines data[at] and data[stop] of the open record, if they are in
        the common shape (module docstring); False, having changed nothing, if not."""
        record = self.record
        assert record is not None
        if _body is not None:
            bitmaps = record.statement_bits, record.covered_bits
            read = _body(data, at + 1, stop, *bitmaps, record.branch_totals, record.branches_taken)
            if read is None:
                return False
            self.number += read[0]
            self.has_branch_data |= read[1]
            return True
        lines = _run(data, at, stop, b"\nDA:", 2)
        if lines is None:
            return False
        branches = _run(data, at, stop, b"\nBRDA:", 4)
        if branches is None:
            return False
        # Every other line starts with a capital letter, so strip() changes no line's record key: the careful
        # reader would skip it (or note BRF: branch data).
        runs = sorted((run.begin, run.end) for run in (lines, branches) if run.begin >= 0)
        edges = [at, *(edge for run in runs for edge in run), stop]
        gaps = list(zip(edges[0::2], edges[1::2], strict=True))
        if any(_ODD_START.search(data, start, end) for start, end in gaps):
            return False
        if lines.numbers:
            record.statements += lines.numbers
            record.uncovered += compress(lines.numbers, map(not_, lines.counts))
        if branches.numbers:
            record.branch_totals.update(branches.numbers)
            record.branches_taken.update(compress(branches.numbers, branches.counts))
        if branches.numbers or any(data.find(b"\nBRF:", start, end) >= 0 for start, end in gaps):
            self.has_branch_data = True
        self.number += len(lines.numbers) + len(branches.numbers) + sum(data.count(b"\n", *gap) for gap in gaps)
        return True

    def careful(self, lines: list[str]) -> None:
        """Read lines one by one (no newlines): the definition of the format, for any shape."""
        path = self.path
        record = self.record
        has_branch_data = self.has_branch_data
        recognised = self.recognised
        malformed = self.malformed
        number = self.number
        try:
            for raw in lines:
                number += 1
                line = raw if raw.startswith("DA:") else raw.strip()
                try:
                    if line.startswith("DA:"):
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
                            if not hit:
                                record.uncovered.append(n)
                    elif line.startswith("BRDA:"):
                        has_branch_data = True
                        if record is not None:
                            body = line[5:]
                            n = _line(body.partition(",")[0], number, path)
                            taken = body.rpartition(",")[2].strip()
                            totals, branches_taken = record.branch_totals, record.branches_taken
                            totals[n] = totals.get(n, 0) + 1  # not `+= 1`: Counter's __missing__ is Python
                            if taken != "-" and positive(taken):
                                branches_taken[n] = branches_taken.get(n, 0) + 1
                    elif line.startswith("SF:"):
                        if record is not None:
                            self.records.append(record.close())
                            self.notes.append(f"LCOV record for {record.path} has no end_of_record: read up to next SF")
                        record = _Record(normalise_path(line[3:].strip()))
                        recognised = True
                    elif line == "end_of_record":
                        if record is not None:
                            self.records.append(record.close())
                            record = None
                    elif line.startswith("BRF:"):
                        has_branch_data = True
                    elif not recognised and line:
                        if line.partition(":")[0] not in _KEYS:
                            raise InputError(path, f"not an LCOV tracefile: line {number} is not an LCOV record")
                        recognised = True
                except ValueError:
                    malformed.append(number)
        finally:
            self.record = record
            self.has_branch_data = has_branch_data
            self.recognised = recognised
            self.number = number

    def finish(self) -> Evidence:
        records, notes = self.records, self.notes
        if self.record is not None:
            records.append(self.record.close())
            notes.append(f"LCOV record for {self.record.path} has no end_of_record (a truncated file?); read as is")
        if not records:
            raise InputError(self.path, "not an LCOV tracefile: no SF: record (an empty tracefile)")
        if self.malformed:
            lines = plural(len(self.malformed), "malformed LCOV line")
            notes.append(f"{lines} skipped, first at line {self.malformed[0]}")
        if self.has_branch_data:
            records = [r if r.branches is not None else replace(r, branches={}) for r in records]
        return Evidence(coverage=Coverage.of(records), notes=tuple(notes))
