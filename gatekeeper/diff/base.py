"""Find the commit a change is measured from: the merge-base of HEAD and the target (three-dot).

CI clones are shallow, so the merge-base is often not in the clone.  Rather than fail (diff-cover) or
diff against whatever commit happens to be there, the clone is deepened step by step, doubling, up
to `DEEPEN_STEPS`; past that, or when the remote cannot be reached, the error names the one command
that fixes it.  A target branch missing from the clone (GitHub and Jenkins fetch only the branch
under test) is fetched once.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.diff.git import FETCH_TIMEOUT, GitFailed, Repository, is_commit_id, safe_revision, valid_branch
from gatekeeper.errors import UsageError, one_line

#: Commits fetched per deepening step: 3,150 in all, beyond which a full fetch is the cheaper fix.
DEEPEN_STEPS = (50, 100, 200, 400, 800, 1600)

_FULL_HISTORY = "GitHub: actions/checkout `fetch-depth: 0`; GitLab: `GIT_DEPTH: 0`"


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseRequest:
    """What to measure the change against, and who said so (a flag or a CI variable, for messages).

    `branch` is the target branch where one is known, so that a clone lacking it can fetch it.
    """

    revision: str
    named_by: str  # the flag or CI variable that named it, for messages
    branch: str | None = None

    @property
    def source(self) -> str:
        """How the change was found, as the verdict says it: `--diff-base origin/main`, `GITHUB_BASE_REF`."""
        return f"{self.named_by} {self.revision}" if self.named_by.startswith("-") else self.named_by


@dataclass(frozen=True, slots=True, kw_only=True)
class Base:
    """The commits of a change: from `merge_base` to `head` (the merge-base of `target` and HEAD)."""

    merge_base: str
    head: str
    target: str
    notes: tuple[str, ...] = ()


def find_base(repository: Repository, request: BaseRequest, steps: tuple[int, ...] = DEEPEN_STEPS) -> Base:
    """The merge-base of the request's target and HEAD, deepening a shallow clone until it is there."""
    revision = safe_revision(request.revision, request.named_by)
    remote, branch = _remote_branch(repository, request)
    notes: list[str] = []
    head = repository.commit("HEAD")
    if head is None:
        raise UsageError(f"{repository.root}: no commit checked out (HEAD): there is no change to measure")
    target = repository.commit(revision)
    if target is None and branch is not None and remote is not None:
        _fetch_branch(repository, remote, branch, request)
        notes.append(f"fetched {remote}/{branch} to find the change's base ({request.source})")
        target = repository.commit(revision)
    deepened = 0
    pending = list(steps)
    while True:
        merge_base = repository.merge_base(target, head) if target is not None else None
        if merge_base is not None:
            break
        if not repository.is_shallow():
            if target is None:
                raise UsageError(_unknown(revision, request, remote, branch))
            raise UsageError(
                f"{request.source}: {revision} and HEAD have no common ancestor (unrelated histories): "
                "no change can be measured between them; give the branch the merge request targets"
            )
        if not pending or remote is None:
            raise UsageError(_too_shallow(revision, request, remote, deepened))
        step = pending.pop(0)
        _deepen(repository, remote, step, branch, revision, request, deepened)
        deepened += step
        target = repository.commit(revision)
    if deepened:
        notes.append(f"deepened the shallow clone by up to {deepened:,} commits to find the merge-base of {revision}")
    return Base(merge_base=merge_base, head=head, target=target or merge_base, notes=tuple(notes))


def _remote_branch(repository: Repository, request: BaseRequest) -> tuple[str | None, str | None]:
    """The remote to fetch from, and the target branch if one is known (`origin/main` gives both)."""
    remotes = repository.remotes()
    branch = request.branch
    remote: str | None = None
    if branch is None and not is_commit_id(request.revision):
        for name in remotes:
            if request.revision.startswith(f"{name}/") and len(request.revision) > len(name) + 1:
                remote, branch = name, request.revision[len(name) + 1 :]
                break
    if branch is not None:
        branch = valid_branch(repository, branch, f"{request.named_by} (target branch)")
    if remote is None:
        remote = "origin" if "origin" in remotes else (remotes[0] if len(remotes) == 1 else None)
    return remote, branch


def _fetch_branch(repository: Repository, remote: str, branch: str, request: BaseRequest) -> None:
    depth = ["--depth=50"] if repository.is_shallow() else []
    refspec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
    try:
        repository.run(
            ["fetch", "--no-tags", "--quiet", *depth, "--end-of-options", remote, refspec], timeout=FETCH_TIMEOUT
        )
    except GitFailed as failure:
        raise UsageError(
            f"{request.source}: the target branch {branch!r} is not in this clone and fetching it failed "
            f"({one_line(failure.stderr)[:200]}): run `git fetch {remote} {refspec}` first"
        ) from None


def _deepen(
    repository: Repository,
    remote: str,
    step: int,
    branch: str | None,
    revision: str,
    request: BaseRequest,
    deepened: int,
) -> None:
    refspec = [f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"] if branch is not None else []
    try:
        repository.run(
            ["fetch", "--no-tags", "--quiet", f"--deepen={step}", "--end-of-options", remote, *refspec],
            timeout=FETCH_TIMEOUT,
        )
    except GitFailed as failure:
        raise UsageError(
            f"{request.source}: the merge-base of {revision} and HEAD is not in this shallow clone and deepening "
            f"it from {remote!r} failed after {deepened:,} commits ({one_line(failure.stderr)[:160]}): "
            f"run `git fetch --unshallow {remote}` before gatekeeper ({_FULL_HISTORY})"
        ) from None


def _unknown(revision: str, request: BaseRequest, remote: str | None, branch: str | None) -> str:
    fix = (
        f"run `git fetch {remote} {branch}` first, or name an existing branch or commit"
        if remote and branch
        else "name an existing branch or commit"
    )
    return f"{request.source}: {revision!r} names no commit in this repository: {fix}"


def _too_shallow(revision: str, request: BaseRequest, remote: str | None, deepened: int) -> str:
    where = f"{remote}" if remote else "<remote>"
    if remote is None:
        return (
            f"{request.source}: the merge-base of {revision} and HEAD is not in this shallow clone, which has no "
            f"remote to deepen it from: clone with the whole history ({_FULL_HISTORY})"
        )
    return (
        f"{request.source}: no merge-base of {revision} and HEAD within {deepened:,} more commits of this shallow "
        f"clone: run `git fetch --unshallow {where}` before gatekeeper ({_FULL_HISTORY})"
    )
