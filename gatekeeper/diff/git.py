"""Run git safely: argument lists (never a shell), fixed locale, no pager, no external diff or textconv.

Every ref comes from a CI variable or a flag, so every ref is hostile: `revision` refuses what could
be read as an option and resolves the rest to a commit with `rev-parse --verify --end-of-options`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gatekeeper.errors import UsageError, one_line

#: Local commands answer in milliseconds; a network fetch (deepening a shallow clone) may take longer.
LOCAL_TIMEOUT = 120.0
FETCH_TIMEOUT = 300.0

#: Settings that would change what `git diff` prints, pinned whatever the user's or runner's config says.
_PINNED_CONFIG = (
    "-c", "core.quotePath=true",
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.relative=false",
    "-c", "color.ui=never",
    "-c", "core.fsmonitor=false",
)  # fmt: skip

_ENVIRONMENT = {
    "LC_ALL": "C",
    "LANGUAGE": "C",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",  # a fetch that needs credentials fails instead of waiting for a person
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_EXTERNAL_DIFF": "",
}
#: Variables that would point git at another repository or work tree than the one asked for.
_DROPPED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE", "GIT_EXTERNAL_DIFF")

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


class GitFailed(Exception):
    """git ran and said no: the caller knows what that means (an unknown ref, no merge-base …)."""

    def __init__(self, arguments: Sequence[str], status: int, stderr: str) -> None:
        self.arguments = tuple(arguments)
        self.status = status
        self.stderr = stderr
        super().__init__(f"git {' '.join(arguments[:2])} exited with {status}: {one_line(stderr) or 'no message'}")


def _environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    environment.update(_ENVIRONMENT)
    return environment


@dataclass(frozen=True, slots=True)
class Repository:
    """A git work tree, by its top-level directory; every command runs there."""

    root: Path

    def run(self, arguments: Sequence[str], *, timeout: float = LOCAL_TIMEOUT) -> bytes:
        """git's standard output; a non-zero exit is `GitFailed`, a missing git or a timeout a UsageError."""
        return run_git(arguments, self.root, timeout=timeout)

    def run_warned(self, arguments: Sequence[str], *, timeout: float = LOCAL_TIMEOUT) -> tuple[bytes, str]:
        return run_git_warned(arguments, self.root, timeout=timeout)

    def succeeds(self, arguments: Sequence[str]) -> bool:
        try:
            self.run(arguments)
        except GitFailed:
            return False
        return True

    def commit(self, revision: str) -> str | None:
        """The full commit id `revision` names, or None; `revision` must already be safe (see `safe_revision`)."""
        try:
            output = self.run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"])
        except GitFailed:
            return None
        commit = output.decode("ascii", "replace").strip()
        return commit if _SHA.fullmatch(commit) else None

    def is_shallow(self) -> bool:
        return self.run(["rev-parse", "--is-shallow-repository"]).strip() == b"true"

    def merge_base(self, one: str, other: str) -> str | None:
        """The best common ancestor of two commit ids, or None when the history held here has none."""
        try:
            output = self.run(["merge-base", "--end-of-options", one, other])
        except GitFailed as failure:
            if failure.status == 1:  # "no common ancestor" is exit 1 with nothing on stderr
                return None
            raise
        commit = output.decode("ascii", "replace").strip()
        return commit if _SHA.fullmatch(commit) else None

    def files(self) -> list[str]:
        """Every tracked path of the work tree (repository-relative, POSIX), read NUL-separated."""
        output = self.run(["ls-files", "-z", "--full-name"])
        return [os.fsdecode(path) for path in output.split(b"\0") if path]

    def remotes(self) -> list[str]:
        return [name for name in self.run(["remote"]).decode("utf-8", "replace").split() if name]


def run_git(arguments: Sequence[str], cwd: Path, *, timeout: float = LOCAL_TIMEOUT) -> bytes:
    """One git command as an argument list, in `cwd`, with the pinned config and environment."""
    return run_git_warned(arguments, cwd, timeout=timeout)[0]


def run_git_warned(arguments: Sequence[str], cwd: Path, *, timeout: float = LOCAL_TIMEOUT) -> tuple[bytes, str]:
    """`run_git`, with what git warned about on stderr while succeeding (a rename limit hit, say)."""
    command = ["git", "--no-pager", *_PINNED_CONFIG, *arguments]
    try:
        completed = subprocess.run(  # an argument list, no shell; git found on PATH
            command,
            cwd=cwd,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("git is not installed (or not on PATH): the change cannot be computed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {arguments[0]} took longer than {timeout:.0f} s and was stopped") from None
    if completed.returncode != 0:
        raise GitFailed(arguments, completed.returncode, completed.stderr.decode("utf-8", "replace"))
    return completed.stdout, completed.stderr.decode("utf-8", "replace")


def open_repository(directory: Path) -> Repository:
    """The work tree `directory` is in; a UsageError (exit 2) when it is in none."""
    try:
        output = run_git(["rev-parse", "--show-toplevel"], directory)
    except GitFailed as failure:
        raise UsageError(
            f"{directory}: not a git repository (git says: {one_line(failure.stderr)[:200]}): the change needs "
            "the repository's history; run gatekeeper in its clone, or give the change as --diff-file"
        ) from None
    return Repository(Path(os.fsdecode(output.rstrip(b"\n"))))


def safe_revision(revision: str, what: str) -> str:
    """`revision` if it can only be read as a revision, never as an option; else a UsageError naming `what`."""
    if not revision or revision.startswith("-") or not revision.isprintable() or any(c.isspace() for c in revision):
        raise UsageError(f"{what}: {revision[:80]!a} is not a git revision (empty, an option, or with spaces)")
    if len(revision) > 256:
        raise UsageError(f"{what} is not a git revision: {len(revision):,} characters long")
    return revision


def valid_branch(repository: Repository, branch: str, what: str) -> str:
    """`branch` if git accepts it as a branch name (`check-ref-format --branch`), else a UsageError."""
    safe_revision(branch, what)
    if branch.startswith("refs/") or not repository.succeeds(["check-ref-format", "--branch", branch]):
        raise UsageError(f"{what}: {branch[:80]!a} is not a valid branch name")
    return branch


def commit_in_clone(directory: Path, revision: str, what: str) -> str | None:
    """The full id of the commit `revision` names in the git clone `directory` is in; None outside a clone
    or when the clone has no such commit (a UsageError only for text that is no revision at all)."""
    safe = safe_revision(revision, what)
    try:
        return open_repository(directory).commit(safe)
    except UsageError:
        return None


def checked_out_commit(directory: Path) -> str | None:
    """The full id of the commit checked out in the git work tree `directory` is in, in one git run: outside
    CI, the commit `check` judges and `deploy record` deploys (one rule, so a gate and its deployment join).
    None outside a work tree, before a first commit, or without git."""
    arguments = ["rev-parse", "--is-inside-work-tree", "--verify", "--quiet", "--end-of-options", "HEAD^{commit}"]
    try:
        output = run_git(arguments, directory)
    except (GitFailed, UsageError):  # no clone, no HEAD yet; git missing or stuck
        return None
    inside, _, commit = output.decode("ascii", "replace").strip().rpartition("\n")
    return commit if inside == "true" and is_commit_id(commit) else None


def is_commit_id(value: str) -> bool:
    """A full SHA-1 or SHA-256 commit id in lower-case hex, as CI variables give them."""
    return _SHA.fullmatch(value) is not None
