"""The few phrasings every message shares, spelled once: a commit's short form, a counted noun, and
the maturity level achieved (level 0 is "no level reached", never "level 0 achieved").

Text, markdown, `explain`, `verdicts list`, `release`, `report` and the pages use these, so a commit
reads the same 12 characters everywhere and "1 finding" is never "1 findings".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: Characters of a commit hash shown (git's own short form grows with the repository; a fixed width
#: keeps tables aligned and is unique in practice far beyond 7).
COMMIT_SHORT = 12


def short_commit(commit: str | None, absent: str = "-") -> str:
    """A commit hash in its short form; `absent` where there is none."""
    return commit[:COMMIT_SHORT] if commit else absent


def plural(count: float, noun: str, nouns: str | None = None) -> str:
    """ "1 finding", "2 findings", "1,200 test cases"; `nouns` where adding an s is wrong."""
    shown = int(count) if isinstance(count, float) and count.is_integer() else count  # 3.0 reads "3"
    return f"{shown:,} {noun if count == 1 else (nouns or noun + 's')}"


class LevelLike(Protocol):
    """One level's result as a verdict records it (`gatekeeper.verdict` and explain's summary alike)."""

    @property
    def level(self) -> int: ...

    @property
    def blocking_gates(self) -> Sequence[str]: ...


def level_reached(achieved: int | None, levels: Sequence[LevelLike] = ()) -> str:
    """The level achieved as a reader takes it: "level 2 achieved", or for 0 "no level reached: level 1
    is held back by tests-all-pass" (the gates from `levels`, where given)."""
    if achieved is None:
        return "no level assessed"
    if achieved > 0:
        return f"level {achieved} achieved"
    held = next((entry.blocking_gates for entry in levels if entry.level == 1), ())
    return "no level reached" + (f": level 1 is held back by {', '.join(held)}" if held else "")
