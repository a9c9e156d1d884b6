"""Which change to judge, if any: `--diff-file`, `--diff-base`, or the base the CI names; then compute it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.errors import UsageError, one_line

if TYPE_CHECKING:  # types only: a run with no change to judge imports nothing of changes (issue 16)
    from gatekeeper.change import Change
    from gatekeeper.context import DiffBase
    from gatekeeper.diff.paths import RepositoryPaths


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRequest:
    """The change options of `check`; none given, the CI's merge-request base (if any) is used."""

    diff_base: str | None = None
    diff_file: str | None = None
    renames: bool = True
    ignore_whitespace: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedChange:
    """The change to judge (None: none), and what the log should say about how it was found."""

    change: Change | None
    warnings: tuple[str, ...] = ()


def load_change(request: ChangeRequest, detected: DiffBase | None, directory: Path) -> LoadedChange:
    """The change the options or the CI name, computed; a UsageError (exit 2) when it cannot be.

    A base named by the CI in a job with no clone (GitLab's `GIT_STRATEGY: none`) is a warning and no
    change, so such jobs keep working; a base named with `--diff-base` must be found.
    """
    if request.diff_file is not None and request.diff_base is not None:
        raise UsageError("give the change as --diff-base or as --diff-file, not both")
    if request.diff_file is not None:
        from gatekeeper.diff.collect import from_file

        change = from_file(request.diff_file)
        return LoadedChange(change=change, warnings=change.notes)
    if request.diff_base is None and detected is None:
        return LoadedChange(change=None)  # no change: nothing of git or diffs is imported (issue 16)
    from gatekeeper.diff.base import BaseRequest, find_base
    from gatekeeper.diff.collect import from_git
    from gatekeeper.diff.git import is_commit_id, open_repository

    if request.diff_base is not None:
        wanted = BaseRequest(revision=request.diff_base, named_by="--diff-base")
    elif detected is not None:
        if detected.variable.endswith("_SHA") and not is_commit_id(detected.revision):
            raise UsageError(f"{detected.variable} {detected.revision[:80]!a} is not a commit id (40 or 64 hex digits)")
        wanted = BaseRequest(revision=detected.revision, named_by=detected.variable, branch=detected.branch)
    else:
        return LoadedChange(change=None)
    try:
        repository = open_repository(directory)
    except UsageError as error:
        if request.diff_base is not None:
            raise
        return LoadedChange(
            change=None, warnings=(f"{detected and detected.variable} is set but {one_line(error)}; no change judged",)
        )
    base = find_base(repository, wanted)
    change = from_git(
        repository, base, source=wanted.source, renames=request.renames, ignore_whitespace=request.ignore_whitespace
    )
    return LoadedChange(change=change, warnings=change.notes)


def repository_paths(change: Change, directory: Path) -> RepositoryPaths:
    """The repository's tracked files to map report paths onto; outside a clone, only the change's own."""
    from gatekeeper.diff.git import open_repository
    from gatekeeper.diff.paths import RepositoryPaths

    try:
        repository = open_repository(directory)
    except UsageError:
        return RepositoryPaths.of(change.files, None, complete=False)
    try:
        here = directory.resolve().relative_to(repository.root.resolve()).as_posix()
    except ValueError:
        here = "."
    return RepositoryPaths.of(repository.files(), repository.root, here="" if here == "." else here)
