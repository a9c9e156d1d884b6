"""The JSON layer every JSON parser reads through: the nesting-depth guard (exact for valid JSON, chunk
boundaries anywhere; in C and in pure Python), the BOM, one-line errors, and streaming in place (what
sarif.py relies on)."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.errors import InputError
from gatekeeper.parsers import _json
from gatekeeper.parsers._json import MAX_DEPTH, DepthGuard
from tests.conftest import CORPUS
from tests.strategies import json_values, mutated

REFUSAL = f"JSON nested deeper than {MAX_DEPTH} levels: not a report"


def reference_depths(data: bytes) -> tuple[int, int]:
    """Depth at the end and deepest point of a JSON text, by a plain byte-by-byte lexer."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                in_string = False
        elif byte == ord('"'):
            in_string = True
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return depth, deepest


#: The guard's two implementations: the C loop of the optional extension, and pure Python.
SCANS = [_json._scan, None]
BOTH = pytest.mark.parametrize("scan", SCANS, ids=["C", "pure Python"])


def test_the_c_guard_is_built() -> None:
    assert _json._scan is not None, "gatekeeper/parsers/_json_speedups.c is not built: `pip install -e .` needs gcc"


def feed(data: bytes, sizes: Iterator[int], limit: int = MAX_DEPTH, scan: Any = _json._scan) -> int | None:
    """The guard's depth after `data` cut into chunks of `sizes`, or None if it refused."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json, "_scan", scan)
        guard = DepthGuard(limit)
        position = 0
        while position < len(data):
            size = next(sizes)
            if not guard.feed(data[position : position + size]):
                return None
            position += size
        return guard.depth


def nested(depth: int, opening: bytes, closing: bytes, inner: bytes = b"1") -> bytes:
    return opening * depth + inner + closing * depth


# --- the limit, exactly --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "closing", "levels"),
    [(b"[", b"]", 1), (b'{"a":', b"}", 1), (b"[1,", b"]", 1), (b'{"k[{\\"": [', b"]}", 2)],
    ids=["arrays", "objects", "interleaved", "brackets-in-keys"],
)
@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
@BOTH
def test_the_limit_is_exact(opening: bytes, closing: bytes, levels: int, chunk: int, scan: Any) -> None:
    at_limit = nested(MAX_DEPTH // levels, opening, closing)
    over = nested(MAX_DEPTH // levels + 1, opening, closing)
    assert feed(at_limit, itertools.repeat(chunk), scan=scan) == 0
    assert feed(over, itertools.repeat(chunk), scan=scan) is None


@BOTH
def test_a_balanced_deep_chunk_is_refused_though_it_ends_where_it_started(scan: Any) -> None:
    assert feed(nested(MAX_DEPTH + 1, b"[", b"]"), itertools.repeat(1 << 20), scan=scan) is None
    assert feed(nested(MAX_DEPTH, b"[", b"]") * 3, itertools.repeat(1 << 20), scan=scan) == 0


@BOTH
def test_brackets_inside_strings_do_not_count(scan: Any) -> None:
    text = json.dumps({"message": "[" * 10_000, "regex": "\\[{" * 5_000, "quote": '"[' * 5_000}).encode()
    for chunk in (1, 3, 64, 1 << 16):
        assert feed(text, itertools.repeat(chunk), scan=scan) == 0


@pytest.mark.parametrize(
    "text",
    [
        b'["\\\\", [[["\\"[[[", "\\\\\\"[", "\\\\\\\\"]]]]',  # escaped backslashes before quotes
        b'{"a\\\\": ["\\u005c", "\\n[", "]\\t"], "b": "\\\\\\\\\\\\"}',
        b'[[], {}, [[[]]], {"": {"": []}}, "", "\\"", 1, true, null]',
    ],
)
@BOTH
def test_escapes_split_anywhere(text: bytes, scan: Any) -> None:
    json.loads(text)  # a valid document
    for cut in range(len(text) + 1):
        for cut2 in range(cut, len(text) + 1, 3):
            sizes = iter([cut or 1, (cut2 - cut) or 1, len(text)] + [len(text)] * 3)
            assert feed(text, sizes, limit=6, scan=scan) == 0, (cut, cut2)


_scalars = st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n\x00é', max_size=8)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text('[]{}"\\k', max_size=4), inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(
    document=_documents,
    chunk=st.integers(1, 40),
    limit=st.integers(1, 12),
    indent=st.sampled_from([None, 1]),
    scan=st.sampled_from(SCANS),
)
def test_matches_a_plain_lexer_on_any_document_and_chunking(
    document: Any, chunk: int, limit: int, indent: int | None, scan: Any
) -> None:
    text = json.dumps(document, indent=indent).encode()
    end, deepest = reference_depths(text)
    got = feed(text, itertools.repeat(chunk), limit, scan)
    assert got == (None if deepest > limit else end)


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=200) | st.lists(st.sampled_from(list(b'[]{}"\\ a')), max_size=200).map(bytes),
    chunk=st.integers(1, 40),
    limit=st.integers(1, 12),
)
def test_the_c_guard_is_the_plain_lexer_on_any_bytes(data: bytes, chunk: int, limit: int) -> None:
    """Valid or not: the C loop is that lexer, run a chunk at a time (the Python guard agrees on valid JSON)."""
    end, deepest = reference_depths(data)
    assert feed(data, itertools.repeat(chunk), limit) == (None if deepest > limit else end)


@BOTH
def test_no_report_of_the_corpus_is_refused(scan: Any) -> None:
    reports = [p for p in CORPUS.rglob("*") if p.suffix in (".json", ".sarif")]
    assert reports
    for path in reports:
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        end, deepest = reference_depths(text)
        assert deepest < 32, path  # real reports nest ~10-30 levels: far from the limit
        assert feed(text, itertools.repeat(_json.CHUNK_SIZE), scan=scan) == end, path


# --- through items/kvitems -----------------------------------------------------------------------------


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "report.json"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "data",
    [
        b'{"results": [' + b"[" * (MAX_DEPTH + 1),  # refused before the file even ends
        b'{"results": [' + nested(MAX_DEPTH, b"[", b"]") + b"]}",
        b'{"files": ' + nested(MAX_DEPTH, b'{"a": ', b"}") + b"}",
    ],
    ids=["unclosed", "arrays", "objects"],
)
def test_items_and_kvitems_refuse_in_one_line(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    for read in (lambda: list(_json.items(path, "results.item")), lambda: list(_json.kvitems(path, "files"))):
        with pytest.raises(InputError) as raised:
            read()
        assert str(raised.value) == f"{path}: {REFUSAL}"


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"results": [' + nested(MAX_DEPTH - 2, b"[", b"]") + b"]}")
    (value,) = _json.items(path, "results.item")
    for _ in range(MAX_DEPTH - 3):
        (value,) = value
    assert value == [1]


def test_a_utf8_bom_is_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, b'\xef\xbb\xbf{"meta": {"version": "7"}, "files": {"a.py": {"executed_lines": [1]}}}')
    assert list(_json.items(path, "meta")) == [{"version": "7"}]
    assert list(_json.kvitems(path, "files")) == [("a.py", {"executed_lines": [1]})]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"results": [', "malformed JSON: parse error: premature EOF"),
        (b'{"results" 1}', "malformed JSON: parse error: object key and value must be separated by a colon (':')"),
        (b'{"results": "\xff\xfe"}', "malformed JSON: lexical error: invalid bytes in UTF8 string"),
        (b'{"results": []} x', "malformed JSON: parse error: trailing garbage"),
    ],
)
def test_errors_are_one_line(tmp_path: Path, data: bytes, problem: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InputError) as raised:
        list(_json.items(path, "results.item"))
    assert str(raised.value) == f"{path}: {problem}"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cyclic_gc_is_paused_only_while_reading(enabled: bool) -> None:
    """Paused during a parse, then left as it was found, also when the parse fails."""
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with pytest.raises(InputError), _json.no_cyclic_gc():
            assert not gc.isenabled()
            raise InputError("report.json", "malformed JSON")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


# --- kvitems: json's decoder over a buffer read a chunk at a time --------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    json_values,
    st.sampled_from([1, 3, 64]),
    st.booleans(),
)
def test_kvitems_reads_what_json_reads_whatever_the_chunks(
    files: dict[str, Any], other: Any, chunk: int, indent: bool
) -> None:
    """Every value cut anywhere by a chunk's end (numbers, strings, multi-byte characters) reads whole."""
    document = {"meta": other, "files": files, "totals": other}
    data = json.dumps(document, indent=2 if indent else None, ensure_ascii=False).encode()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "coverage.json"
        path.write_bytes(data)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_json, "CHUNK_SIZE", chunk)
            assert list(_json.kvitems(path, "files")) == list(files.items())


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, min_size=1, max_size=6), st.data())
def test_kvitems_on_a_mutated_document_reads_what_json_reads_or_refuses(files: dict[str, Any], data: Any) -> None:
    inserts = [b"{", b"]", b",", b'"', b"\xff", b"NaN", b"1", b" x"]
    document = data.draw(mutated([json.dumps({"files": files}).encode()], inserts))
    try:
        expected: Any = list(json.loads(document.decode("utf-8"))["files"].items())
    except (ValueError, KeyError, TypeError, AttributeError):
        expected = None
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "coverage.json"
        path.write_bytes(document)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_json, "CHUNK_SIZE", 2)
            try:
                found: Any = list(_json.kvitems(path, "files"))
            except InputError as error:
                assert "\n" not in str(error)
                found = None
    if expected is not None and b"NaN" not in document:
        assert found == expected


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b'{"files": {"a.py": {"executed_lines": [1, 2', "malformed JSON: the document ends early (truncated?)"),
        (b'{"files": {"a.py": 1}} x', "malformed JSON at line 1, column 24: trailing garbage after the document"),
        (b'{"files": {"a.py": NaN}}', "malformed JSON at line 1, column 20: NaN is not JSON"),
        (b'{"files": {"a.py": "\xff"}}', "malformed JSON: not UTF-8 (invalid start byte)"),
        (b'{"files":\n {"a.py": 1,\n  "b.py" 2}}', "malformed JSON at line 3, column 10: expected ':'"),
    ],
)
def test_kvitems_errors_are_one_line_with_their_place(tmp_path: Path, data: bytes, problem: str) -> None:
    path = write(tmp_path, data)
    for chunk in (1, 64 * 1024):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_json, "CHUNK_SIZE", chunk)
            with pytest.raises(InputError) as raised:
                list(_json.kvitems(path, "files"))
        assert str(raised.value) == f"{path}: {problem}"
