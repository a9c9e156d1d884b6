"""The change itself: from git between the merge-base and HEAD, or from a unified diff file.

git's diff runs once, with `--raw -z` for the files (exact paths and statuses, NUL-separated) and
`-p -U0` for the lines; the patch's sections come in the raw entries' order and are paired by path
(with `--ignore-all-space` a file changed only in whitespace has no section: it adds no line).  A
section that pairs with no entry is an error, never a guess.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from gatekeeper.change import Change, ChangedFile, FileStatus
from gatekeeper.diff.base import Base
from gatekeeper.diff.git import Repository
from gatekeeper.diff.unified import DiffError, sections
from gatekeeper.errors import InputError, UsageError

_STATUS = {
    "A": FileStatus.ADDED,
    "M": FileStatus.MODIFIED,
    "T": FileStatus.MODIFIED,  # a type change (file to symlink) keeps its path
    "R": FileStatus.RENAMED,
    "C": FileStatus.COPIED,
    "D": FileStatus.DELETED,
}

#: A --diff-file larger than this is not a merge request's diff but a mistake (a tarball, a core dump).
MAX_DIFF_FILE_BYTES = 1 << 30


#: git's words when a change has too many files for its rename (or copy) detection to try every pair.
_RENAME_LIMIT = "rename detection was skipped"


def diff_arguments(base: Base, *, renames: bool, ignore_whitespace: bool, copies: bool = True) -> list[str]:
    """`git diff` as the change is computed."""
    arguments = [
        "diff", "--raw", "-z", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv",
        "--src-prefix=a/", "--dst-prefix=b/",
        *((["-M", "-C"] if copies else ["-M"]) if renames else ["--no-renames"]),
        *(["--ignore-all-space", "--ignore-blank-lines"] if ignore_whitespace else []),
    ]  # fmt: skip
    return [*arguments, base.merge_base, base.head, "--"]


def from_git(
    repository: Repository, base: Base, *, source: str, renames: bool = True, ignore_whitespace: bool = False
) -> Change:
    """The change from the merge-base to HEAD, as git sees it.

    Copy detection makes every modified file a candidate source; in a large change git then skips
    rename detection altogether, so the diff runs again without copies, and a warning says what was
    given up rather than a renamed file silently counting as all new.
    """
    arguments = diff_arguments(base, renames=renames, ignore_whitespace=ignore_whitespace)
    output, warned = repository.run_warned(arguments)
    notes = list(base.notes)
    if renames and _RENAME_LIMIT in warned:
        output, warned = repository.run_warned(
            diff_arguments(base, renames=True, ignore_whitespace=ignore_whitespace, copies=False)
        )
        notes.append("copy detection skipped: the change has too many files for git to compare them all")
    if renames and _RENAME_LIMIT in warned:
        notes.append(
            "rename detection skipped by git (too many files): renamed files count as all new; "
            "raise git's diff.renameLimit to detect them"
        )
    entries, patch_start = _raw_entries(output)
    patches = (section.changed_file() for section in sections(io.BytesIO(memoryview(output)[patch_start:])))
    files = []
    section = next(patches, None)
    for status, paths in entries:
        if section is not None and section.path == paths[-1]:
            files.append(_file(status, paths, section))
            section = next(patches, None)
        elif not ignore_whitespace:  # -w leaves out the patch of a file changed only in whitespace, nothing else
            raise UsageError(
                f"git diff gave no patch for {paths[-1]!a}: its output is not understood (please report it)"
            )
    if section is not None:
        raise UsageError(f"git diff gave a patch for {section.path!a} it did not list (please report it)")
    return Change(source=source, base=base.merge_base, head=base.head, files=_by_path(files), notes=tuple(notes))


def _raw_entries(output: bytes) -> tuple[list[tuple[str, tuple[str, ...]]], int]:
    """`:mode mode sha sha STATUS\\0path\\0[path\\0]` entries, and where the patch after them starts."""
    entries: list[tuple[str, tuple[str, ...]]] = []
    position = 0
    while output.startswith(b":", position):
        end = output.index(b"\0", position)
        status = output[position:end].rsplit(b" ", 1)[-1].decode("ascii", "replace")[:1]
        count = 2 if status in ("R", "C") else 1
        paths = []
        for _ in range(count):
            start, end = end + 1, output.index(b"\0", end + 1)
            paths.append(os.fsdecode(output[start:end]))
        entries.append((status, tuple(paths)))
        position = end + 1
    if output.startswith(b"\0", position):  # the NUL that ends the raw part before the patch
        position += 1
    return entries, position


def _file(status: str, paths: tuple[str, ...], from_patch: ChangedFile) -> ChangedFile:
    kind = _STATUS.get(status, FileStatus.MODIFIED)
    return replace(
        from_patch,
        path=paths[-1],
        status=kind,
        old_path=paths[0] if kind in (FileStatus.RENAMED, FileStatus.COPIED) else None,
    )


def _by_path(files: Iterable[ChangedFile]) -> dict[str, ChangedFile]:
    """Files keyed by path; a path named twice (concatenated diffs) keeps the union of its lines."""
    result: dict[str, ChangedFile] = {}
    for changed in files:
        previous = result.get(changed.path)
        if previous is not None:
            changed = replace(
                previous,
                added=previous.added | changed.added,
                lines_added=(previous.added | changed.added).bit_count(),
                lines_removed=previous.lines_removed + changed.lines_removed,
                binary=previous.binary or changed.binary,
            )
        result[changed.path] = changed
    return result


def from_file(path: str) -> Change:
    """The change a unified diff file describes (`git diff > change.diff`, `diff -ru`, a patch mail)."""
    target = Path(path)
    try:
        status = target.stat()
    except FileNotFoundError:
        raise InputError(path, "no such file (--diff-file)") from None
    except OSError as error:
        raise InputError(path, f"cannot read the --diff-file: {error.strerror or error}") from None
    if not stat.S_ISREG(status.st_mode):
        raise InputError(path, "--diff-file is not a regular file")
    if status.st_size == 0:  # `git diff` of a merge request with no net change: an empty change, as --diff-base
        return Change(
            source=f"--diff-file {path}", notes=(f"--diff-file {path} is empty (0 bytes): the change has no files",)
        )
    if status.st_size > MAX_DIFF_FILE_BYTES:
        raise InputError(path, f"--diff-file is {status.st_size:,} bytes: not a merge request's diff")
    try:
        with open(target, "rb") as stream:
            files = [section.changed_file() for section in sections(stream)]
    except OSError as error:
        raise InputError(path, f"cannot read the --diff-file: {error.strerror or error}") from None
    except DiffError as error:
        raise InputError(path, f"--diff-file is not a usable unified diff: {error}") from None
    if not files:
        raise InputError(path, "--diff-file is not a unified diff: no `diff --git` or `---`/`+++` file header in it")
    return Change(source=f"--diff-file {path}", files=_by_path(files))
