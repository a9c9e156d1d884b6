"""The LCOV reader's paths never disagree.

`gatekeeper.parsers.lcov` reads record bodies in the common shape fast (in C, `_lcov_speedups.c`, where
it is built, else with C-speed operations from Python) and anything else line by line (the careful
reader, which defines the format).  Here every tracefile, generated or mutated byte by byte, is read
these ways and must give the same evidence, notes and errors:

- the reference: the file opened in text mode (as the reader always read it: UTF-8 with replacement,
  universal newlines), every line given to the careful reader;
- the careful reader alone over the binary chunks (`fast=False`);
- the parser as users run it, whole and with the file cut into chunks at arbitrary places, with the C
  body reader and with the pure-Python one (as installed without a C compiler).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.model import Evidence
from gatekeeper.parsers import lcov
from tests.conftest import CORPUS

PATH = Path("lcov.info")
REPO = Path(__file__).resolve().parents[2]


def outcome(evidence: Evidence) -> tuple[Any, ...]:
    """Everything a reader decides, in order: files, masks, branches (with their order) and notes."""
    assert evidence.coverage is not None
    files = tuple(
        (name, f.statements, f.covered, None if f.branches is None else tuple(f.branches.items()))
        for name, f in evidence.coverage.files.items()
    )
    return files, evidence.notes


def reference(data: bytes, tmp_path: Path) -> tuple[Any, ...] | str:
    """The text-mode line loop the reader was before its fast path, run through the careful reader."""
    path = tmp_path / "reference.info"
    path.write_bytes(data)
    reader = lcov._Reader(PATH, fast=False)
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            reader.careful([line.removesuffix("\n") for line in stream])
        return outcome(reader.finish())
    except InputError as error:
        return str(error)


def read(chunks: list[bytes], fast: bool) -> tuple[Any, ...] | str:
    try:
        return outcome(lcov._parse(chunks, PATH, fast=fast))
    except InputError as error:
        return str(error)


@contextmanager
def pure_python() -> Iterator[None]:
    """The reader as installed without a C compiler: record bodies read by the pure-Python fast path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lcov, "_body", None)
        yield


def cut(data: bytes, rng: random.Random) -> list[bytes]:
    """The bytes in chunks cut at random places (a `\\r\\n` may be cut in two)."""
    points = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(0, 12)))) if len(data) > 1 else []
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def assert_agree(data: bytes, tmp_path: Path, seed: int = 0) -> tuple[Any, ...] | str:
    expected = reference(data, tmp_path)
    assert read([data], fast=False) == expected
    for body in ("C", "pure Python"):
        with pure_python() if body == "pure Python" else nullcontext():
            assert read([data], fast=True) == expected, body
            assert read(cut(data, random.Random(seed)), fast=True) == expected, body
            assert read([data[i : i + 1] for i in range(len(data))], fast=True) == expected, body
    return expected


# ------------------------------------------------------------------------------------------ real files
#: Every tracefile we have from real producers (lcov 2.x, gcovr, istanbul, coverage.py) and the examples.
TRACEFILES = sorted([*CORPUS.rglob("*.lcov"), *CORPUS.rglob("*.info"), *(REPO / "examples").rglob("*.lcov")])


@pytest.mark.parametrize("path", TRACEFILES, ids=lambda path: path.name)
def test_real_tracefiles_read_alike(tmp_path: Path, path: Path) -> None:
    assert not isinstance(assert_agree(path.read_bytes(), tmp_path), str)


# ------------------------------------------------------------------------------------------ generated
#: What BRDA lines say of a branch: never evaluated, not taken, taken.
TAKEN = ["-", "0", "1", "33"]


def tracefile(rng: random.Random, records: int, words: bool = True) -> bytes:
    """A tracefile in the shapes producers write (lcov 1.x/2.x, istanbul, gcovr, coverage.py); with `words`
    some records have checksums and branches described in words (which only the C reader takes fast)."""
    out: list[str] = []
    for index in range(records):
        out += ["TN:"] if rng.random() < 0.7 else []
        out.append(f"SF:/src/pkg/file_{index % 5}.c")
        out += ["VER:abc"] if rng.random() < 0.2 else []
        lines = sorted(rng.sample(range(rng.choice([1, 1, 9_990]), 10_040), rng.randint(0, 30)))
        functions = [f"FN:{n},f{n}" for n in lines[:3]] + [f"FNDA:{rng.randint(0, 3)},f{n}" for n in lines[:3]]
        checksum = words and rng.random() < 0.2  # lcov --checksum, gcovr
        da = [f"DA:{n},{rng.choice([0, 0, 1, 7, 12345, 2874063630])}{f',{n:032x}' * checksum}" for n in lines]
        described = words and rng.random() < 0.3  # coverage.py 7.x: what the branch does
        brda = [
            f"BRDA:{n},{block},{f'jump to line {n + branch}' if described else branch},{rng.choice(TAKEN)}"
            for block, n in enumerate(lines[: rng.randint(0, len(lines))])
            for branch in range(rng.randint(1, 3))
        ]
        brda_totals = [f"BRF:{len(brda)}", f"BRH:{sum(not b.endswith((',0', ',-')) for b in brda)}"] if brda else []
        sections = [[*functions, "FNF:3", "FNH:1"], [*da, "LF:9", "LH:3"], brda + brda_totals]
        rng.shuffle(sections)
        out += [line for section in sections for line in section]
        out += ["end_of_record"] if rng.random() < 0.9 else []
    ending = rng.choice(["\n", "\n", "\r\n"])
    return (ending.join(out) + (ending if rng.random() < 0.8 else "")).encode()


#: Bytes a mutation may put in: everything the two paths treat differently somewhere.
PIECES = [
    b"0", b"00", b"1", b"9", b"99999999999", b",", b"-", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\x0b", b"\x0c",
    b"\x1c", b"\x00", b":", b"+", b"_", b"DA:", b"BRDA:", b"SF:", b"BRF:", b"FN:", b"end_of_record", b"TN:",
    b"\xc2\x85", b"\xe3\x80\x80", b"\xc3\xa9", b"\xff", b"\xe2\x82", b"DA:1,1,d41d8cd9", b"DA:5", b"BRDA:3,0,0",
    b"1e3", b"3.0", b"-1", b"DA:00007,1", b"DA:0,0", b"\n\n",
]  # fmt: skip


def mutate(data: bytes, rng: random.Random, times: int) -> bytes:
    """`data` with a few pieces inserted, bytes deleted or replaced at random places."""
    for _ in range(times):
        at = rng.randint(0, len(data))
        action = rng.random()
        if action < 0.5:
            data = data[:at] + rng.choice(PIECES) + data[at:]
        elif action < 0.75:
            data = data[:at] + data[at + rng.randint(1, 4) :]
        else:
            data = data[:at] + rng.choice(PIECES) + data[at + rng.randint(1, 3) :]
    return data


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), records=st.integers(1, 6))
def test_generated_tracefiles_read_alike(tmp_path: Path, seed: int, records: int) -> None:
    rng = random.Random(seed)
    assert_agree(tracefile(rng, records), tmp_path, seed)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), records=st.integers(1, 4), times=st.integers(1, 6))
def test_mutated_tracefiles_read_alike(tmp_path: Path, seed: int, records: int, times: int) -> None:
    rng = random.Random(seed)
    assert_agree(mutate(tracefile(rng, records), rng, times), tmp_path, seed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), prefix=st.sampled_from([b"", b"SF:a.c\n", b"SF:a.c\nDA:1,1\n"]))
def test_any_bytes_read_alike(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    assert_agree(prefix + data, tmp_path)


# ------------------------------------------------------------------------------------------ by hand
SHAPES = {
    "checksum": b"SF:a.c\nDA:1,1,d41d8cd98f00b204e9800998ecf8427e\nDA:2,0,abc\nend_of_record\n",
    "leading zeros": b"SF:a.c\nDA:007,1\nDA:8,00\nDA:9,01\nBRDA:7,0,0,00\nBRDA:7,0,1,01\nend_of_record\n",
    "empty counts": b"SF:a.c\nDA:1,\nDA:2,5\nBRDA:2,,,\nBRDA:2,0,1,\nBRDA:2,0,2,4\nend_of_record\n",
    "empty line number": b"SF:a.c\nDA:,5\nDA:2,5\nBRDA:,0,0,1\nend_of_record\n",
    "signs and spaces": b"SF:a.c\nDA:+1,1\nDA:2, 3\nDA: 4,1\nDA:5,-2\nDA:-6,1\nBRDA:7,0,0, 3\nend_of_record\n",
    "floats": b"SF:a.c\nDA:1,1e3\nDA:2,0.0\nDA:3,2.5\nDA:4,nan\nend_of_record\n",
    "beyond the number table": b"SF:a.c\nDA:10000,1\nDA:9999999,0\nBRDA:123456,0,0,1\nend_of_record\n",
    "lcov 2 expressions": b"SF:a.c\nDA:3,1\nBRDA:3,e0,(x > 1) && (y, z),7\nBRDA:3,e0,1,0\nend_of_record\n",
    "a digit inside a key": b"SF:a.c\nDA:1,1\nD5A:2,0\nDA:3,1\nBRDA:1,0,0,1\nBRD1A:2,0,0,1\nBRDA:3,0,0,1\n",
    "a line twice": b"SF:a.c\nDA:1,0\nDA:1,5\nDA:2,3\nDA:2,0\nDA:3,0\nDA:3,0\nDA:4,1\nDA:4,2\nend_of_record\n",
    "interleaved runs": b"SF:a.c\nDA:1,1\nBRDA:1,0,0,1\nDA:2,0\nBRDA:2,0,0,0\nend_of_record\n",
    "unicode spaces": "SF:a.c\n\u3000DA:1,1\n\x85DA:2,1\n\x1cBRDA:2,0,0,1\nDA:3,0\n".encode() + b"end_of_record\n",
    "control spaces": b"SF:a.c\n\x0bDA:1,1\n\x1fBRF:1\n DA:2,1\n\tend_of_record\nDA:9,9\n",
    "a blank line": b"SF:a.c\nDA:1,1\n\nDA:2,0\n  \nend_of_record\n",
    "not quite the end": b"SF:a.c\nDA:1,1\nend_of_records\nend_of_record \nDA:2,1\nend_of_record\n",
    "an SF line inside": b"SF:a.c\nDA:1,1\nSF:b.c\nDA:2,1\n  SF:c.c\nDA:3,0\nend_of_record\n",
    "no end of record": b"TN:\nSF:a.c\nDA:1,1\nBRF:0",
    "cr only": b"SF:a.c\rDA:1,1\rDA:2,0\rBRDA:1,0,0,-\rend_of_record\r",
    "crlf": b"SF:a.c\r\nDA:1,1\r\nDA:2,0\r\nend_of_record\r\n",
    "lines before SF": b"DA:1,1\nBRDA:1,0,0,1\nTN:\nSF:a.c\nDA:2,1\nend_of_record\n",
    "lines after the end": b"SF:a.c\nDA:1,1\nend_of_record\nDA:5,5\nBRDA:5,0,0,1\nFN:1,f\nEOF\n",
    "branch totals only": b"SF:a.c\nDA:1,1\nBRF:0\nBRH:0\nend_of_record\nSF:b.c\nDA:1,1\nend_of_record\n",
    "invalid utf-8": b"SF:caf\xe9.c\nDA:1,1\nFN:1,\xff\xfe\nend_of_record\n",
    "bom": b"\xef\xbb\xbfTN:\nSF:a.c\nDA:1,1\nend_of_record\n",
    "not lcov": b"<?xml version='1.0'?>\n<coverage/>\n",
    "absurd line after a fast body": b"SF:a.c\nDA:1,1\nDA:2,0\nend_of_record\nSF:b.c\nDA:99999999999,1\n",
    "absurd branch line": b"SF:a.c\nDA:1,1\nBRDA:10000001,0,0,1\nend_of_record\n",
    "huge digit strings": b"SF:a.c\nDA:1," + b"9" * 5000 + b"\nDA:" + b"1" * 5000 + b",1\nend_of_record\n",
    "huge zero counts": b"SF:a.c\nDA:1," + b"0" * 5000 + b"\nBRDA:1,0,0," + b"0" * 5000 + b"\nend_of_record\n",
    "line numbers of 8 and 9 digits": b"SF:a.c\nDA:00000007,1\nDA:10000000,0\nDA:000000008,1\nend_of_record\n",
    "the last line number": b"SF:a.c\nDA:10000000,1\nDA:0,0\nBRDA:10000000,0,0,1\nend_of_record\n",
    "one past the last line number": b"SF:a.c\nDA:1,1\nBRDA:1,0,0,1\nDA:10000001,1\nend_of_record\n",
    "counts with leading zeros": b"SF:a.c\nDA:1,000\nDA:2,0001\nBRDA:1,0,0,00\nBRDA:1,0,1,007\nend_of_record\n",
    "odd taken": b"SF:a.c\nDA:1,1\nBRDA:1,0,0,--\nBRDA:1,0,1,-1\nBRDA:1,-,0,1\nBRDA:1,0,0,1,2\nend_of_record\n",
    "short records": b"SF:a.c\nDA:1\nDA:2,1,\nBRDA:1,0,0\nBRDA:1\nDA:\nBRDA:\nend_of_record\n",
    "branch lines out of order": b"SF:a.c\nBRDA:5,0,0,1\nBRDA:3,0,0,0\nDA:3,1\nBRDA:5,0,1,-\nBRDA:3,0,1,2\n"
    b"BRDA:4,0,0,0\nBRDA:5,0,2,9\nend_of_record\n",
    "a lower-case line": b"SF:a.c\nDA:1,1\nfn:3,f\nDA:2,0\nend_of_record\n",
    "a digit first": b"SF:a.c\nDA:1,1\n3DA:2,0\nend_of_record\n",
    "an empty body": b"SF:a.c\nend_of_record\nSF:b.c\n\nend_of_record\n",
}


@pytest.mark.parametrize("name", SHAPES)
def test_unusual_shapes_read_alike(tmp_path: Path, name: str) -> None:
    assert_agree(SHAPES[name], tmp_path)


def notes_of(data: bytes, tmp_path: Path) -> tuple[str, ...]:
    result = assert_agree(data, tmp_path)
    assert not isinstance(result, str), result
    notes: tuple[str, ...] = result[1]
    return notes


def test_a_malformed_line_after_fast_bodies_is_noted_at_its_own_line(tmp_path: Path) -> None:
    body = b"FN:1,f\nFNDA:1,f\n" + b"".join(b"DA:%d,%d\n" % (n, n % 3) for n in range(1, 50)) + b"LF:49\n"
    data = b"TN:\nSF:a.c\n" + body + b"end_of_record\nSF:b.c\n" + body + b"DA:x,1\nDA:y,2\nend_of_record\n"
    assert notes_of(data, tmp_path) == ("2 malformed LCOV lines skipped, first at line 109",)


def test_one_malformed_line_is_one_line(tmp_path: Path) -> None:
    assert notes_of(b"SF:a.c\nDA:1,1\nDA:x,1\nend_of_record\n", tmp_path) == (
        "1 malformed LCOV line skipped, first at line 3",
    )


def test_an_absurd_line_number_is_refused_at_its_line_on_both_paths(tmp_path: Path) -> None:
    data = SHAPES["absurd line after a fast body"]
    assert (
        assert_agree(data, tmp_path)
        == f"{PATH}: line 6: line number 99999999999 is out of range (above 10,000,000): a corrupt report?"
    )


def test_the_c_body_reader_is_built() -> None:
    assert lcov._body is not None, "gatekeeper/parsers/_lcov_speedups.c is not built: `pip install -e .` needs gcc"


@pytest.mark.parametrize("body", ["C", "pure Python"])
def test_the_common_shape_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    """Only the lines that open, close or sit between records go through the careful reader."""
    if body == "pure Python":
        monkeypatch.setattr(lcov, "_body", None)
    rng = random.Random(7)
    data = tracefile(rng, 40, words=body == "C").replace(b"\r\n", b"\n")
    careful = read_carefully(data, monkeypatch)
    assert careful, "the structure lines are read carefully"
    assert {line.partition(":")[0] for line in careful} <= {"TN", "SF", "end_of_record", ""}


@pytest.mark.parametrize("path", TRACEFILES, ids=lambda path: path.name)
def test_real_tracefiles_take_the_c_path(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """gcovr's checksums and coverage.py's branches in words included: only what is outside a body is careful."""
    careful = read_carefully(path.read_bytes(), monkeypatch)
    assert {line.strip().partition(":")[0] for line in careful} <= {"TN", "SF", "end_of_record", "EOF", ""}


def read_carefully(data: bytes, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines of a tracefile that its reading gives to the careful reader."""
    careful: list[str] = []
    read_lines = lcov._Reader.careful

    def spy(self: lcov._Reader, lines: list[str]) -> None:
        careful.extend(lines)
        read_lines(self, lines)

    monkeypatch.setattr(lcov._Reader, "careful", spy)
    lcov._parse([data], PATH)
    return careful


# ------------------------------------------------------------------------------------------ the C body
def c_body(data: bytes, start: int = 0, stop: int | None = None) -> tuple[Any, ...]:
    """What `_lcov_speedups.body` answers for data[start:stop], and what it left in a record's four parts."""
    assert lcov._body is not None
    statements, covered = bytearray(b"\x01"), bytearray()
    totals: Counter[int] = Counter({9: 1})
    taken: Counter[int] = Counter()
    answer = lcov._body(data, start, len(data) if stop is None else stop, statements, covered, totals, taken)
    return answer, int.from_bytes(statements, "little"), int.from_bytes(covered, "little"), list(totals.items()), taken


def test_the_c_body_sets_bits_and_adds_branches_in_order() -> None:
    data = b"FN:1,f\nDA:3,0\nDA:1,2\nDA:3,1\n\nBRDA:9,0,0,-\nBRDA:2,0,0,4\nBRDA:2,0,1,0\nBRF:3"
    answer, statements, covered, totals, taken = c_body(data)
    assert answer == (9, True)
    assert (statements, covered) == (0b1011, 0b1010)  # bit 0 was there before; line 3 has hits once
    assert (totals, taken) == ([(9, 2), (2, 2)], {2: 1})


@pytest.mark.parametrize(
    "data",
    [
        b"DA:1,1\n DA:2,1",  # a leading space: strip() would make it a DA line
        b"DA:1,1\nSF:b.c",  # a record starts: not a body
        b"DA:1,1\nDA:2,1 ",  # a space after the count
        b"DA:123456789,1",  # nine digits
        b"DA:10000001,1",  # above MAX_LINE
        b"BRDA:1,0,0,1 ",
        b"BRDA:1,0,0,x",
        b"BRDA:1",
        b"BRDA:1,0,0,1\nDA:1,+1",
        b"DA:1,1\n\xc3\xa9",
    ],
)
def test_the_c_body_declines_other_shapes_having_changed_nothing(data: bytes) -> None:
    assert c_body(data) == (None, 1, 0, [(9, 1)], {})


def test_the_c_body_passes_over_checksums_and_branch_descriptions() -> None:
    data = b"DA:1,1,d41d8cd9\nDA:2,0,\xff, x\nBRDA:1,0,jump to line 2,1\nBRDA:1,e0,(x > 1) && (y, z),0\nBRDA:2,-"
    assert c_body(data) == ((5, True), 0b111, 0b10, [(9, 1), (1, 2), (2, 1)], {1: 1})


def test_the_c_body_reads_only_between_start_and_stop() -> None:
    data = b"DA:1,1\nDA:2,1\nDA:3,1"
    assert c_body(data, 7, 13)[:3] == ((1, False), 0b101, 0b100)
    assert c_body(data, 7, 7)[:3] == ((1, False), 1, 0)  # one empty line
    for start, stop in [(-1, 5), (5, 4), (0, len(data) + 1)]:
        with pytest.raises(ValueError, match="start and stop"):
            c_body(data, start, stop)


def test_the_c_body_shares_the_int_objects_of_common_line_numbers() -> None:
    """As lcov._NUMBERS does for the pure-Python path: 180,000 branch lines must not hold 180,000 ints."""
    first, second = c_body(b"BRDA:4321,0,0,1")[3], c_body(b"BRDA:4321,0,0,1")[3]
    assert first[1][0] == 4321 and first[1][0] is second[1][0]
