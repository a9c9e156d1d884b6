"""The change a merge request makes, as the new-code gates judge it: which lines of which files it adds.

Built from git (`gatekeeper.diff`) or from a unified diff given with `--diff-file`; read by `metrics`
to count changed-lines coverage, new findings and new failures.  Line sets are bitmasks as coverage's
are (`model.line_mask`), so intersecting a file's changed lines with its covered lines is one `&`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class FileStatus(str, Enum):
    """What the change did to a file (git's A, M, R, C, D)."""

    ADDED = "added"
    MODIFIED = "modified"
    RENAMED = "renamed"
    COPIED = "copied"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangedFile:
    """One file of the change, by its repository path after the change (POSIX separators).

    `added` holds the line numbers (in the new file) the change adds or rewrites, as a bitmask; a
    pure rename with rename detection on adds none.  A binary file has no lines.
    """

    path: str
    status: FileStatus
    added: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    old_path: str | None = None
    binary: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """The change judged: its files by path, and where it came from (for the verdict and messages).

    `base` is the commit the change is measured from (the merge-base of the head and the target), or
    None for a diff file; `source` says how it was found ("--diff-base origin/main",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA", "--diff-file change.diff").
    """

    source: str
    base: str | None = None
    head: str | None = None
    files: Mapping[str, ChangedFile] = field(default_factory=dict)
    #: What was done to find it (a shallow clone deepened, a target branch fetched): warnings for the log.
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def lines_added(self) -> int:
        return sum(f.lines_added for f in self.files.values())

    @property
    def lines_removed(self) -> int:
        return sum(f.lines_removed for f in self.files.values())
