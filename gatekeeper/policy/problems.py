"""What is wrong with a policy, as data: sorted and printed, never parsed back from its text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gatekeeper.errors import PolicyError


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem at `file:line:column`; line 0 is the file as a whole (it cannot be read, or is too
    large), column 0 the whole line.

    `file` is what the author knows the file by: the path as given, a bundled pack by its name
    (`caict-cd/level-3`), a fetched policy by its URL.
    """

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.file}: {self.message}"
        if self.column == 0:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class PolicyProblems(PolicyError):
    """A PolicyError whose problems are `Problem`s (`problems` keeps them as text, for every reader)."""

    def __init__(self, found: Iterable[Problem]) -> None:
        self.found = tuple(found)
        super().__init__([str(problem) for problem in self.found])
