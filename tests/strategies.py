"""Hypothesis strategies shared by the fuzz tests and the parser comparison tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], inserts: list[bytes]) -> bytes:
    """A seed report with one to four byte-level mutations."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "prolog"]))
        if action == "truncate":
            del data[at:]
        elif action == "flip" and data:
            index = min(at, len(data) - 1)
            data[index] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[at:at] = draw(st.sampled_from(inserts))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:  # right after the XML declaration, where a DOCTYPE belongs
            end = data.find(b"?>")
            data[end + 2 if end >= 0 else 0 : end + 2 if end >= 0 else 0] = draw(st.sampled_from(inserts))
    return bytes(data)


_finite = st.floats(allow_nan=False, allow_infinity=False)
_json_scalars = st.none() | st.booleans() | st.integers() | _finite | st.text(max_size=20)
json_values: st.SearchStrategy[Any] = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
