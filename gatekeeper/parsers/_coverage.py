"""What every coverage parser shares: sane line numbers, hit counts, and one way to report bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gatekeeper.errors import InputError
from gatekeeper.parsers._xml import to_int

#: Line numbers above this are refused as corrupt: no real source file is that long, and the line bitmask
#: of a mangled report's line 10**12 would exhaust memory.  Shared by every coverage parser.
MAX_LINE = 10_000_000


class LineOutOfRange(Exception):
    """A line number above MAX_LINE: the report is corrupt."""

    def __init__(self, number: int) -> None:
        super().__init__(f"line number {number} is out of range (above {MAX_LINE:,}): a corrupt report?")


def line_number(value: str | None) -> int:
    """A line number attribute; -1 (skipped) for blanks, junk and negatives, LineOutOfRange if absurd."""
    number = to_int(value, -1)
    if number > MAX_LINE:
        raise LineOutOfRange(number)
    return number


def positive(value: str | None) -> bool:
    """Whether a hit count is above zero, for "3", "3.0", "1e3" or 2**40; junk and negatives are zero."""
    if not value or value == "0":
        return False
    try:
        return int(value) > 0
    except ValueError:
        try:
            return float(value) > 0.0  # NaN compares False
        except ValueError:
            return False


@contextmanager
def coverage_errors(path: Path, title: str, wrong_format: type[Exception]) -> Iterator[None]:
    """Turn a parser's "this is another format" and "absurd line number" into one-line input errors."""
    try:
        yield
    except wrong_format as error:
        raise InputError(path, f"not a {title} report: {error}") from None
    except LineOutOfRange as error:
        raise InputError(path, str(error)) from None
