"""Streaming JSON for every JSON parser: ijson (yajl2 C backend), so memory does not grow with the file.

ijson's C backend reads a report as fast as `json.load` while holding only the item being read.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gatekeeper.errors import InputError


def items(path: Path, prefix: str) -> Iterator[Any]:
    """Each JSON value at `prefix` (ijson syntax: "results.item"), streamed; bad JSON is an InputError."""
    import ijson

    with open(path, "rb") as stream:
        try:
            yield from ijson.items(stream, prefix, use_float=True)
        except ijson.JSONError as error:
            raise InputError(path, f"malformed JSON: {error}") from None


def kvitems(path: Path, prefix: str) -> Iterator[tuple[str, Any]]:
    """Each (key, value) of the JSON object at `prefix`, streamed."""
    import ijson

    with open(path, "rb") as stream:
        try:
            yield from ijson.kvitems(stream, prefix, use_float=True)
        except ijson.JSONError as error:
            raise InputError(path, f"malformed JSON: {error}") from None

