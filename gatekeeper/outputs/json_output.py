"""The verdict itself, as pretty JSON.

A lone surrogate (a SARIF message may escape one) becomes U+FFFD, so the text can be written as UTF-8
and read by strict JSON parsers; JSON's own escaping covers everything else.
"""

from __future__ import annotations

from gatekeeper.outputs.escape import clean
from gatekeeper.verdict import Verdict, dumps


def render(verdict: Verdict, *, color: bool = False) -> str:
    return clean(dumps(verdict))
