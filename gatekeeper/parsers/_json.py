"""Streaming JSON for every JSON parser, so memory does not grow with the file.

`items` streams with ijson (yajl2 C backend), holding only the item being read; `kvitems` (the members
of one top-level object: coverage.py's "files") cuts each member out of the text and decodes it with
json's own C decoder, twice as fast as ijson builds it.

Every byte either reads first passes a `DepthGuard`.  ijson keeps one prefix string per nesting level
("runs.item.item…"), so its memory grows with the square of the depth: 200 KB of `[` would take
gigabytes.  Real reports nest ~10-30 levels deep; anything deeper than MAX_DEPTH is refused with one
line before ijson sees the chunk that goes too deep.  The reader also skips a UTF-8 BOM (Windows tools
write one) and every ijson error is cut to one line here, so each caller reports it as it is.
"""

from __future__ import annotations

import gc
import itertools
import operator
import re
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gatekeeper.errors import InputError
from gatekeeper.parsers import open_report

try:  # the guard's loop in C (_json_speedups.c), when the optional extension was built
    from gatekeeper.parsers._json_speedups import scan as _scan
except ImportError:
    _scan = None  # type: ignore[assignment]

#: Deepest nesting accepted (the root object or array is level 1).
MAX_DEPTH = 128
#: What ijson asks for at a time: one chunk is checked as a whole before ijson parses it.
CHUNK_SIZE = 64 * 1024
_BOM = b"\xef\xbb\xbf"

#: An escaped backslash or quote: the only escapes that can hide or fake a string's end.  Scanned from
#: the left, a match always starts at a real escape (a run of backslashes starts with one).
_QUOTE_ESCAPES = re.compile(rb'\\[\\"]')
#: Keep quotes and brackets, each kind of bracket as `[`/`]`: depth does not care which kind it is.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_MARKS = bytes(sorted(set(range(256)) - set(b'"[]{}')))
#: A whole string once only quotes and brackets are left (escaped quotes are gone by then).
_STRING = re.compile(rb'"[^"]*"')
#: `[` -> 2, `]` -> 0: the running sum minus the position is the depth (see `_deepest`).
_STEPS = bytes.maketrans(b"[]", b"\x02\x00")


def nested_too_deep(path: str | Path) -> InputError:
    """The one-line refusal of a document nested deeper than MAX_DEPTH."""
    return InputError(path, f"JSON nested deeper than {MAX_DEPTH} levels: not a report")


class DepthGuard:
    """The nesting depth of a JSON byte stream, fed chunk by chunk; exact for valid JSON.

    Per chunk, with C-speed bytes operations only: drop escaped quotes and backslashes, keep only quotes
    and brackets (`bytes.translate`), drop whole strings, then peel matched `[]` pairs repeatedly: the
    number of peels bounds the depth reached inside the chunk, what is left (`]]][[`) gives the depth at
    its end.  A chunk that might go deeper than the limit by that bound is measured exactly.  An
    unterminated string or escape at a chunk's end is carried over, so the parity never drifts.

    Invalid JSON can fool the count only after the first invalid byte, where ijson stops anyway.  When
    the optional C extension is built, `_json_speedups.scan` does the same in one pass over the bytes.
    """

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit = limit
        self.depth = 0
        self._in_string = False
        self._in_escape = False

    def feed(self, chunk: bytes) -> bool:
        """Account for the next chunk; False when it goes deeper than the limit."""
        if _scan is not None:
            state = _scan(chunk, self.depth, self._in_string, self._in_escape, self.limit)
            if state is None:
                return False
            self.depth, self._in_string, self._in_escape = state
            return True
        if self._in_escape:
            chunk = b"\\" + chunk
        if b"\\" in chunk:
            chunk = _QUOTE_ESCAPES.sub(b"", chunk)
            self._in_escape = chunk.endswith(b"\\")  # a backslash whose escaped byte is in the next chunk
        else:
            self._in_escape = False
        marks = chunk.translate(_BRACKETS, _NOT_MARKS)
        if self._in_string:
            marks = b'"' + marks
        if b'"' in marks:
            # Two quotes side by side are an empty string or the end of one string and the start of
            # the next: dropping them keeps every bracket in or out of a string.  Most strings go
            # this way, far faster than by the regex below.
            marks = _STRING.sub(b"", marks.replace(b'""', b""))
            opened = marks.find(b'"')  # at most one quote is left: a string still open at the end
            self._in_string = opened >= 0
            if self._in_string:
                marks = marks[:opened]
        if not marks:
            return True
        start, opens = self.depth, marks.count(b"[")
        end = start + 2 * opens - len(marks)
        if start + opens > self.limit:  # else it cannot go deeper than that: no need to look closer
            rest, peels = marks, 0
            while b"[]" in rest and peels <= self.limit:
                rest = rest.replace(b"[]", b"")
                peels += 1
            # `rest` is now `]]][[`: between its marks, nothing nests deeper than `peels`.
            if max(start, end) + peels > self.limit and start + _deepest(marks) > self.limit:
                return False
        self.depth = end
        return True


def _deepest(marks: bytes) -> int:
    """The deepest point of a run of `[`/`]` relative to its start: after k marks of which n open,
    the depth is n - (k - n) = 2n - k."""
    depths: Iterator[int] = map(operator.sub, itertools.accumulate(marks.translate(_STEPS)), itertools.count(1))
    return max(0, max(depths, default=0))


class _Guarded:
    """The file as ijson reads it: without a UTF-8 BOM, every chunk through a DepthGuard first."""

    def __init__(self, raw: IO[bytes], path: Path) -> None:
        self._raw = raw
        self._path = path
        self._guard = DepthGuard()
        if raw.read(len(_BOM)) != _BOM:
            raw.seek(0)

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        chunk = self._raw.read(size)
        if chunk and not self._guard.feed(chunk):
            raise nested_too_deep(self._path)
        return chunk


def one_line(error: Exception) -> str:
    """ijson's (yajl's) message, first line only: the rest is an excerpt and an ASCII-art arrow."""
    text = str(error)
    if text[:2] in ("b'", 'b"'):  # yajl's lexical errors arrive as the repr of a bytes message
        text = text[2:].split("\\n", 1)[0]
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line.rstrip(".") or type(error).__name__


def items(path: Path, prefix: str) -> Generator[Any, None, None]:
    """Each JSON value at `prefix` (ijson syntax: "results.item"), streamed; bad JSON is an InputError."""
    import ijson

    with open_report(path) as raw:
        try:
            yield from ijson.items(_Guarded(raw, path), prefix, use_float=True, buf_size=CHUNK_SIZE)
        except ijson.JSONError as error:
            raise InputError(path, f"malformed JSON: {one_line(error)}") from None


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parser streams many small JSON values.

    Streamed values are acyclic and freed by reference counting as soon as they are read; the
    collector would only rescan the findings or records built so far, over and over (a tenth of a
    large report's parse).  Restored afterwards, unless something else had turned it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def kvitems(path: Path, key: str) -> Generator[tuple[str, Any], None, None]:
    """Each (name, value) of the object under the document's top-level `key`, streamed.

    Not ijson: the members are cut out of the text and each value decoded by json's C decoder
    (`raw_decode`), which builds a value twice as fast as ijson (a coverage.py report's ~86% of regions
    nobody reads included); bench/README.md.  The same guarantees: bytes pass the `DepthGuard` first
    (json's decoder recurses), a BOM is skipped, and every problem is one line.
    """
    with open_report(path) as raw:
        text = Text(raw, path)
        if text.next_char() != "{":
            text.value()  # not an object: nothing to yield, but the document must still be JSON
        else:
            text.skip("{")
            for name in text.member_names():
                if name == key and text.next_char() == "{":
                    text.skip("{")
                    for member in text.member_names():
                        yield member, text.value()
                else:
                    text.value()
        if text.next_char():
            raise text.malformed("trailing garbage after the document")


#: Whitespace between JSON tokens.
_SPACE = re.compile(r"[ \t\n\r]*")
#: Read on before decoding when less than this is left in the buffer, so that the buffer's end seldom
#: cuts a value: each cut costs a JSONDecodeError, and json counts the lines before it to make one.
_READ_AHEAD = 64 * 1024
#: The rest of the buffer, when it could still be part of the number before it.
_NUMBER_GOES_ON = re.compile(r"[0-9.eE+-]*\Z")


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class Text:
    """A JSON document as text, read a chunk at a time: a cursor over what is buffered, which decodes one
    value at a time with json's C decoder (`kvitems`, and sarif.py's one pass).

    A value cut by the end of the buffer is decoded again once more has been read, reading twice as
    much each time, so a value of any size is decoded at most ~twice over.
    """

    def __init__(self, raw: IO[bytes], path: Path) -> None:
        import codecs
        import json

        self._raw = raw
        self._path = path
        self._guard = DepthGuard()
        self._decode = codecs.getincrementaldecoder("utf-8")("strict").decode
        self._decoder = json.JSONDecoder(parse_constant=_no_constants)
        self._errors = (json.JSONDecodeError, ValueError)
        self._scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
        self._want = CHUNK_SIZE * 16
        self._ended = False
        self._dropped = 0  # characters read before the buffer, for error positions
        self.buffer = ""
        self.at = 0
        if raw.read(len(_BOM)) != _BOM:
            raw.seek(0)

    def _more(self) -> bool:
        """Read the next chunk onto what is left of the buffer; False at the end of the file."""
        if self._ended:
            return False
        chunk = self._raw.read(self._want)
        try:
            decoded = self._decode(chunk, not chunk)
        except UnicodeDecodeError as error:
            raise InputError(self._path, f"malformed JSON: not UTF-8 ({error.reason})") from None
        if not chunk:
            self._ended = True
        elif not self._guard.feed(chunk):
            raise nested_too_deep(self._path)
        self._dropped += self.at
        self.buffer = self.buffer[self.at :] + decoded
        self.at = 0
        return bool(chunk)

    def next_char(self) -> str:
        """The next character after whitespace ("" at the end of the document), not consumed."""
        while True:
            match = _SPACE.match(self.buffer, self.at)
            self.at = match.end() if match else self.at
            if self.at < len(self.buffer):
                return self.buffer[self.at]
            if not self._more() and self.at >= len(self.buffer):
                return ""

    def skip(self, char: str) -> None:
        if self.next_char() != char:
            raise self.malformed(f"expected {char!r}")
        self.at += 1

    def member_names(self) -> Iterator[str]:
        """The names of an object's members, just after its `{`; the caller reads each value."""
        for _ in self._items("}", "a member"):
            if self.next_char() != '"':
                raise self.malformed("expected a member name")
            name: str = self._decoded(lambda: self._scanstring(self.buffer, self.at + 1, True))
            self.skip(":")
            yield name

    def elements(self) -> Iterator[None]:
        """Once per element of an array, just after its `[`; the caller reads each element's value."""
        return self._items("]", "an element")

    def _items(self, close: str, what: str) -> Iterator[None]:
        """Once per item of an object or array up to `close`, checking the commas between them."""
        if self.next_char() == close:
            self.at += 1
            return
        while True:
            yield
            separator = self.next_char()
            self.at += 1
            if separator == close:
                return
            if separator != ",":
                raise self.malformed(f"expected ',' or {close!r} after {what}", self.at - 1)

    def value(self) -> Any:
        """The JSON value at the cursor, decoded."""
        self.next_char()
        return self._decoded(lambda: self._decoder.raw_decode(self.buffer, self.at))

    def _decoded(self, decode: Callable[[], tuple[Any, int]]) -> Any:
        if len(self.buffer) - self.at < _READ_AHEAD:
            self._more()
        want = self._want
        try:
            while True:
                try:
                    value, end = decode()
                except self._errors as error:
                    if self._ended:
                        raise self.malformed(getattr(error, "msg", str(error)), getattr(error, "pos", None)) from None
                else:
                    # A number may go on in the next chunk ("-0" of "-0.5", "1" of "1e3"): only what the
                    # buffer holds after it, if it could not continue a number, shows it has ended.
                    if self._ended or not _NUMBER_GOES_ON.match(self.buffer, end):
                        self.at = end
                        return value
                self._want *= 2
                self._more()
        finally:
            self._want = want

    def malformed(self, problem: str, position: int | None = None) -> InputError:
        """The one-line error for a problem at `position` of the buffer (the cursor by default)."""
        at = self.at if position is None else position
        if self._ended and at >= len(self.buffer.rstrip()):
            return InputError(self._path, "malformed JSON: the document ends early (truncated?)")
        # Line and column are worked out here, from the file's start: counting them as the text goes
        # by costs a tenth of a large report's read.
        import codecs

        offset = self._dropped + at
        decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        line, line_start, seen = 1, 0, 0
        with open_report(self._path) as raw:
            if raw.read(len(_BOM)) != _BOM:
                raw.seek(0)
            while seen < offset and (chunk := raw.read(self._want)):
                piece = decode(chunk)[: offset - seen]
                if (newlines := piece.count("\n")) > 0:
                    line += newlines
                    line_start = seen + piece.rfind("\n") + 1
                seen += len(piece)
        column = offset - line_start + 1
        return InputError(self._path, f"malformed JSON at line {line}, column {column}: {problem}")
