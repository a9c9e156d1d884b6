"""The records of a verdict's optional sections: what a run writes only when a feature is on.

A baseline compared with, a pipeline-final's parts, waivers and a quarantine that applied, a change judged:
`gatekeeper.verdict` builds and reads these records, and imports this module only where one is built, so a
plain `check` never creates their classes (each frozen dataclass costs ~1 ms to create, as its methods are
generated and compiled: issue 16).  Reports past the verdict's list are no feature (a Surefire directory
has hundreds): `InputsOmitted` stays in gatekeeper.verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatekeeper.change import FileStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class BaselineRecord:
    id: str
    source: str
    branch: str | None = None
    created_at: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartRecord:
    """One stored attempt of a part a pipeline-final merged, and what that attempt held."""

    name: str
    sha256: str
    bytes: int
    received_at: str  # the store's clock
    replaced: bool = False  # a retried job: a later attempt of the same name counts instead of this one
    tests: int = 0
    files: int = 0
    findings: int = 0
    unreadable: bool = False  # it does not decode: not merged (the verdict is an error), its counts 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineRecord:
    """What a pipeline-final decided on: the parts it merged, how many it expected and which never came."""

    expected: int | None
    missing: tuple[str, ...] = ()
    parts: tuple[PartRecord, ...] = ()  # every stored attempt, the replaced ones of a retried part too
    parts_omitted: int = 0  # merged but not listed (the verdict's size bound)


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiverRecord:
    match: Mapping[str, str]
    reason: str
    findings: int
    owner: str | None = None
    expires: str | None = None
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    test: str  # the entry's glob over classname.name
    reason: str
    owner: str
    expires: str
    tests: int  # failing tests it covered (for an expired one: would have covered)
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quarantines:
    applied: tuple[QuarantineRecord, ...] = ()
    expired: tuple[QuarantineRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangedFileRecord:
    """One file of the change judged: what it changed, and its changed lines the coverage report misses.

    `new_lines` is (covered, total) over its changed lines the coverage report measures, None when the
    report does not list the file; `uncovered` lists those missed as (first, last) ranges, the first
    RANGE_LIMIT of them, and `uncovered_omitted` counts the missed lines past them.
    """

    path: str
    status: FileStatus
    lines_added: int
    lines_removed: int
    old_path: str | None = None
    new_lines: tuple[int, int] | None = None
    new_branches: tuple[int, int] | None = None
    uncovered: tuple[tuple[int, int], ...] = ()
    uncovered_omitted: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRecord:
    """The change a verdict judged (v2, optional): where it came from, its size, and its first files, those
    with uncovered changed lines first."""

    source: str
    base: str | None
    head: str | None
    lines_added: int
    lines_removed: int
    files: tuple[ChangedFileRecord, ...] = ()
    files_omitted: int = 0
