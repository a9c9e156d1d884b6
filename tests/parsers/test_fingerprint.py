"""A finding's fingerprint: the shortcut past the line-number pattern never changes one.

Fingerprints are stored with verdicts and compared across runs, so a faster computation must give
exactly the same hash for every text: here against the plain definition, on texts made of the
characters that matter (digits of several scripts, white space of several kinds, line breaks).
"""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.parsers._security import _LEADING_LINE_NUMBER, fingerprint


def by_definition(tool: str, rule: str, path: str, text: str) -> str:
    normalised = " ".join(_LEADING_LINE_NUMBER.sub("", text).split())
    material = "\x1f".join((tool.lower(), rule, path.replace("\\", "/"), normalised))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]


CHARACTERS = ["a", "x", "1", "9", "\u0663", "\u00b2", " ", "\t", "\n", "\r", "\u00a0", "\u2028", "\x1c", "="]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(CHARACTERS), max_size=24))
def test_the_fingerprint_is_its_definition(text: str) -> None:
    assert fingerprint("Bandit", "B602", "src\\a.py", text) == by_definition("Bandit", "B602", "src\\a.py", text)


def test_bandit_line_numbers_are_still_dropped() -> None:
    assert fingerprint("bandit", "B1", "a.py", "12 x = 1\n13 y = 2") == fingerprint(
        "bandit", "B1", "a.py", "x = 1 y = 2"
    )
