"""The verdict itself, as pretty JSON."""

from __future__ import annotations

from typing import Any

from gatekeeper.verdict import dumps


def render(verdict: dict[str, Any], *, color: bool = False) -> str:
    return dumps(verdict)
