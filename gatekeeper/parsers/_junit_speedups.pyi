"""Types of the optional C extension `_junit_speedups.c` (see junit.py)."""

from collections.abc import Callable, Iterable
from typing import Any

class Scanner:
    CharacterDataHandler: Callable[[str], object] | None
    def __init__(
        self, handler: Any, to_float: Callable[[str], float], records: Iterable[str], suites: Iterable[str]
    ) -> None: ...
    def feed(self, data: bytes, final: bool) -> bool: ...
    def counts(self) -> tuple[int, float]: ...
