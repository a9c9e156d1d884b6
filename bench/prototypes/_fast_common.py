"""Pieces shared by the prototypes: a faster `model.line_mask` and a way to try it in one call."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

_BITS = bytes.maketrans(b"\x00\x01", b"01")


def line_mask(lines: Iterable[int]) -> int:
    """`gatekeeper.model.line_mask`, twice as fast: one byte per line, then one C-level conversion.

    Setting `flags[n] = 1` is cheaper per line than `buffer[n >> 3] |= 1 << (n & 7)`, and
    `int(text, 2)` turns the reversed 0/1 bytes into the same int in linear time.
    """
    numbers = lines if isinstance(lines, list) else list(lines)
    if numbers and min(numbers) < 0:
        numbers = [n for n in numbers if n >= 0]
    if not numbers:
        return 0
    flags = bytearray(max(numbers) + 1)
    for n in numbers:
        flags[n] = 1
    return int(flags[::-1].translate(_BITS), 2)


@contextmanager
def patched(module: ModuleType, **replacements: Any) -> Iterator[None]:
    """Swap module globals for one call only, so gatekeeper's own parser stays intact beside it."""
    saved = {name: getattr(module, name) for name in replacements}
    for name, value in replacements.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Streamed JSON values are acyclic and freed by reference counting: the cyclic GC only rescans."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
