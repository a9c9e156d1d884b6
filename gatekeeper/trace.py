"""Requirement keys (JIRA issue keys) in the commits of a change: which commits carry one, and which keys.

JIRA links a commit, a branch or a merge request to an issue through the issue key in its text
(`ABC-123`): a project key of two or more characters starting with a letter, a dash, the issue's
number.  github-for-jira matches keys case-insensitively and upper-cases them (github-for-jira#220
asks for lowercase keys; its parser accepts `jra-123`, `[JRA-123]`, `(JRA-123)`, `#JRA-123`); so does
`DEFAULT_KEY_PATTERN`, which also refuses what is clearly not a key: a key inside a word, a version
(`release-1.2`, `node-18.04`), a file name or host (`lib-2.js`, `web-3.example.com`), a path that goes
on (`repo-2/pull`), a date or identifier with more numbers (`CVE-2024-1234`), and the standards people
name in commit messages (UTF-8, SHA-256, ISO-8601, RFC-7231, PEP-8): a false key would hide an
untraced commit from the gate, a missed one shows and is fixed by the commit's author.

Every text is hostile: it is cut to `MAX_TEXT_CHARS` before matching; the default pattern (ours,
reviewed, written with lookarounds) runs on Python's `re` in time linear in its length, and a policy's own
pattern runs on RE2 (google-re2), which matches in linear time whatever the pattern: `a*a*a*b` or `(a+)+`
would take minutes on a backtracking engine and a commit message must never make the gate hang.  A pattern
RE2 cannot compile (a lookaround, a backreference, a possessive repeat) is refused.

Which commits count (trace.commits), and when one carries a key (trace.commits_with_key):
- the change's: a merge request's merge-base..HEAD (the new-code change); without one, those since the
  branch's last verdict that HEAD descends from; without that, HEAD's own (and, when HEAD is a merge, the
  commits it merged: first parent..HEAD);
- a commit carries a key when its message names one.  The branch name and the merge request's title are
  listed as sources, never counted for a commit: the level-3 rule is that every commit on a deploy branch
  is traced, and a branch name does not survive into main's history (its title does, in a squash or merge
  commit's message);
- merge commits are not counted: git or the forge writes their message, and the commits they bring are
  counted themselves (or, merged earlier, were); their keys are listed (`merges`).  A squash merge is one
  ordinary commit carrying the keys of its message; a revert quotes the reverted subject, so it carries
  that commit's keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatekeeper.errors import one_line

if TYPE_CHECKING:
    from gatekeeper.diff.git import Repository

#: JIRA keys, case-tolerant; group 1 is the key.  Python `re` syntax.
DEFAULT_KEY_PATTERN = (
    r"(?i)"
    r"(?<![0-9a-z_.@$\\])(?<!://)"  # not inside a word, a dotted name, an e-mail address or a URL's host
    r"(?!(?:UTF|UCS|SHA|MD|ISO|CVE|CWE|RFC|PEP|X86)-)"  # standards, not projects
    r"([a-z][a-z0-9_]{1,254}-[1-9][0-9]{0,17})"
    r"(?![0-9a-z_]|[./][0-9a-z_]|-[0-9])"  # not a version, a file name, a path that goes on, a date
)

#: Characters of one text (a commit message, a branch name, a title) that are searched for keys; keys
#: are in a message's subject or trailers, a squash merge's list of messages stays well under it.
MAX_TEXT_CHARS = 16_384
#: Keys kept per text: the verdict lists them, and a message of a thousand keys is not a reference.
MAX_KEYS_PER_TEXT = 50
#: A policy's pattern longer than this is not a key pattern.
MAX_PATTERN_CHARS = 512
#: A key longer than this (a policy pattern matching too much) is not kept.
MAX_KEY_CHARS = 255


class PatternError(ValueError):
    """A key pattern that cannot be used; the message says why (the policy loader adds file and line)."""


#: The keys one pattern finds in a text: the first group's text when it has groups, else the whole match.
KeyFinder = Callable[[str], Iterator[str]]


@lru_cache(maxsize=16)
def compile_pattern(pattern: str) -> KeyFinder:
    """`pattern` compiled, once: DEFAULT_KEY_PATTERN on Python's `re`, any other on RE2 (linear time on a
    hostile commit message); a PatternError when it is not RE2 syntax or matches an empty text."""
    if pattern == DEFAULT_KEY_PATTERN:
        return _finder(re.compile(pattern))
    if not pattern:
        raise PatternError("the key pattern is empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"the key pattern is {len(pattern):,} characters long (at most {MAX_PATTERN_CHARS})")
    try:
        import re2  # google-re2: a core dependency, imported only for a pattern of one's own
    except ImportError:  # pragma: no cover - an install without its dependencies
        raise PatternError("a key pattern of one's own needs the google-re2 package (pip install google-re2)") from None
    options = re2.Options()
    options.log_errors = False  # RE2 would print each refused pattern on stderr
    try:
        compiled = re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) else error
        raise PatternError(
            f"not a regular expression RE2 accepts (a key pattern is RE2 syntax: no lookaround or backreferences): "
            f"{reason}"
        ) from None
    if compiled.match("") is not None:
        raise PatternError("the key pattern matches an empty text: it would find a key in every commit")
    return _finder(compiled)


def _finder(compiled: Any) -> KeyFinder:
    """The matched keys of `compiled` (a `re` or an RE2 pattern: both have `groups` and `finditer`)."""
    grouped = bool(compiled.groups)

    def find(text: str) -> Iterator[str]:
        # RE2 matches UTF-8: a lone surrogate (a branch name from the environment) is replaced, not an error
        encoded = text.encode("utf-8", "replace").decode("utf-8")
        for match in compiled.finditer(encoded):
            found = match.group(1) if grouped else match.group(0)
            if found:
                yield str(found)

    return find


def issue_keys(text: str, pattern: str = DEFAULT_KEY_PATTERN) -> list[str]:
    """The keys `text` names, upper-cased, each once, in the order they first appear.

    The pattern's first group is the key when it has groups, else the whole match.
    """
    searched = text[:MAX_TEXT_CHARS]
    if pattern == DEFAULT_KEY_PATTERN and not any(f"-{digit}" in searched for digit in "123456789"):
        return []  # no key's dash and number: the pattern (0.7 ms to compile, in every `check`) is not needed
    find = compile_pattern(pattern)
    keys: list[str] = []
    seen: set[str] = set()
    for found in find(searched):
        if len(found) > MAX_KEY_CHARS:
            continue
        key = found.strip().upper()
        if key and key not in seen:
            seen.add(key)
            keys.append(key)
            if len(keys) == MAX_KEYS_PER_TEXT:
                break
    return keys


# --- the commits of a change ------------------------------------------------------------------------

#: Commits read from git for one verdict: a range longer than this is a base set wrong (or a branch
#: never merged), not a change; it is not traced, and a note says so.
MAX_COMMITS = 10_000
#: A commit id, full or short, as the verdict's commit is (`check` refuses any other): safe for git.
_COMMIT_ID = re.compile(r"[0-9a-fA-F]{7,64}")
#: Characters of a commit's subject the verdict keeps, to show which commits carry no key.
SUBJECT_CHARS = 100
#: The newest verdicts of the branch whose commits are tried as "since the last verdict" bases.
LAST_VERDICTS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class TracedCommit:
    """One commit of the change: its id, the keys its message carries, its subject (for the list of
    commits without a key)."""

    sha: str
    keys: tuple[str, ...]
    subject: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """The keys of a change: per counted commit, and from the branch name, the merge request's title and
    merge commits' messages (listed, never counted: a merge commit is made by git or the forge).

    `commits` is None when no git history could be read: the trace metrics are then absent, not zero.
    """

    pattern: str
    commits: tuple[TracedCommit, ...] | None = None
    #: How the commits were chosen: "change <base>..<head>", "since the last verdict: …", "HEAD" …
    range: str | None = None
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key the change names, sorted, each once."""
        found = {key for commit in self.commits or () for key in commit.keys}
        found.update(key for keys in self.sources.values() for key in keys)
        return tuple(sorted(found))

    @property
    def without_key(self) -> tuple[TracedCommit, ...]:
        """The counted commits whose message names no key: what the level-3 gate blocks on."""
        return tuple(commit for commit in self.commits or () if not commit.keys)

    def metrics(self) -> dict[str, float]:
        """trace.commits, trace.commits_with_key and trace.percent; none without history, no percent of
        no commits."""
        if self.commits is None:
            return {}
        total = len(self.commits)
        carrying = sum(1 for commit in self.commits if commit.keys)
        metrics: dict[str, float] = {"trace.commits": total, "trace.commits_with_key": carrying}
        if total:
            metrics["trace.percent"] = carrying * 100.0 / total
        return metrics


def commit_keys(message: str, pattern: str = DEFAULT_KEY_PATTERN) -> tuple[str, ...]:
    """The keys a commit carries: those of its message (subject, body and trailers) — a squash merge's
    message lists its commits' messages, so it carries their keys; a revert's quotes the reverted subject."""
    return tuple(issue_keys(message, pattern))


def source_keys(
    *, branch: str | None, title: str | None, pattern: str = DEFAULT_KEY_PATTERN
) -> dict[str, tuple[str, ...]]:
    """Keys of the branch name and the merge request's title: listed in the verdict, counted for no commit."""
    return {name: tuple(issue_keys(text, pattern)) for name, text in (("branch", branch), ("title", title)) if text}


def trace_change(
    directory: Path,
    *,
    pattern: str = DEFAULT_KEY_PATTERN,
    base: str | None = None,
    head: str | None = None,
    since: Sequence[str] = (),
    sources: Mapping[str, tuple[str, ...]] | None = None,
    at: str | None = None,
    label: str = "HEAD",
) -> Trace:
    """The trace of the change in the git clone at `directory`, never an error: what cannot be read is a
    note, and no history means no commits (absent metrics).

    The commits are `base..head` when the change is known (the new-code change's merge-base and head);
    else those since the newest of `since` (commits of the branch's earlier verdicts) that HEAD
    descends from; else HEAD's own: HEAD, and when HEAD is a merge, the commits it merged.  `at` (the
    verdict's commit) stands for HEAD: `check --commit` judges that commit; where this clone lacks it, nothing
    is traced (absent metrics and a note), never HEAD in its place.  `label` is how `at` reads in `range`:
    HEAD, or the commit `--commit` named (short).
    """
    from gatekeeper.diff.git import GitFailed, is_commit_id
    from gatekeeper.errors import GatekeeperError, one_line

    listed = {name: keys for name, keys in (sources or {}).items() if keys}
    is_change = base is not None and head is not None and is_commit_id(base) and is_commit_id(head)
    if not is_change and not since and (at is None or is_commit_id(at)):
        try:
            alone = _head_alone(directory, pattern, at)
        except _NoClone:
            return Trace(pattern=pattern, sources=listed)  # as below: no history, absent metrics, no warning
        if alone is not None:
            return Trace(pattern=pattern, commits=(alone,), range=label, sources=listed)
    try:
        repository, known = _opened(directory, at if at is not None and is_commit_id(at) else "HEAD")
    except (_NoClone, GatekeeperError):
        return Trace(pattern=pattern, sources=listed)  # no history: absent metrics say so, no warning
    try:
        commits, merges, described, notes = _commits(repository, pattern, base, head, since, at, known, label)
    except (GitFailed, GatekeeperError) as error:
        return Trace(pattern=pattern, sources=listed, notes=(f"commits not traced: {one_line(error)[:300]}",))
    if merges:
        listed["merges"] = merges
    return Trace(pattern=pattern, commits=commits, range=described, sources=listed, notes=notes)


def _commits(
    repository: Repository,
    pattern: str,
    base: str | None,
    head: str | None,
    since: Sequence[str],
    at: str | None = None,
    known: Mapping[str, str] | None = None,
    label: str = "HEAD",
) -> tuple[tuple[TracedCommit, ...] | None, tuple[str, ...], str | None, tuple[str, ...]]:
    """(counted commits, keys of merge commits, how they were chosen, notes); `known`: commits of revisions
    read already (`_opened`)."""
    from gatekeeper.diff.git import is_commit_id

    known = known or {}
    notes: list[str] = []
    if at is not None:
        tip = known.get(at) or (repository.commit(at) if _COMMIT_ID.fullmatch(at) else None)
        if tip is None:  # HEAD in its place would count another commit's keys as the verdict's
            return None, (), None, (f"the verdict's commit {at[:12]} is not in this clone: its commits not traced",)
    else:
        tip = known.get("HEAD") or repository.commit("HEAD")
    if tip is None:
        return None, (), None, ("no commit checked out (HEAD): no commits traced",)
    if base is not None and head is not None and is_commit_id(base) and is_commit_id(head):
        exclude: str | None = base
        described = f"change {base[:12]}..{head[:12]}"
    else:
        head = tip
        exclude, described = _since_last(repository, tip, since, notes, label)
    records = _log(repository, head, exclude)
    if exclude is None and records and len(records[0].parents) > 1:
        first = records[0].parents[0]
        if repository.commit(first) is not None:  # a merge at HEAD: the commits it merged, too
            records = _log(repository, head, first)
            described = f"{label} and the commits it merged: {first[:12]}..{head[:12]}"
    if len(records) > MAX_COMMITS:
        notes.append(f"more than {MAX_COMMITS:,} commits in {described}: not traced (is the change's base right?)")
        return None, (), described, tuple(notes)
    counted: list[TracedCommit] = []
    merged: dict[str, None] = {}
    for record in records:
        keys = commit_keys(record.message, pattern)
        if len(record.parents) > 1:
            merged.update(dict.fromkeys(keys))
        else:
            counted.append(_traced(record, keys))
    return tuple(counted), tuple(merged), described, tuple(notes)


def _opened(directory: Path, revision: str) -> tuple[Repository, dict[str, str]]:
    """`open_repository`, and the commit `revision` names in it (`{revision: id}`), in one git run (issue 16);
    where git cannot answer both (no such commit, no HEAD yet, no clone) as before: the clone alone, or the
    UsageError (or _NoClone) outside one."""
    import os

    from gatekeeper.diff.git import GitFailed, Repository, is_commit_id, open_repository, run_git

    arguments = ["rev-parse", "--show-toplevel", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"]
    try:
        output = run_git(arguments, directory)
    except GitFailed as failure:
        if "not a git repository" in failure.stderr:  # (LC_ALL=C) as `open_repository` would find
            raise _NoClone from None
        return open_repository(directory), {}
    root, _, commit = output.rstrip(b"\n").rpartition(b"\n")
    found = commit.decode("ascii", "replace")
    if not root or not is_commit_id(found):
        return open_repository(directory), {}
    return Repository(Path(os.fsdecode(root.rstrip(b"\n")))), {revision: found}


def _head_alone(directory: Path, pattern: str, at: str | None) -> TracedCommit | None:
    """HEAD's own commit (or `at`'s, a full id), read by one `git log` where the path that reads `since` runs
    git twice (`_opened`, then the log) for the same answer: `check` runs this in every job (issue 16).  None
    when it cannot tell alone: no clone, no such commit, no HEAD yet, or a merge (whose merged commits count)."""
    from gatekeeper.diff.git import GitFailed, Repository
    from gatekeeper.errors import GatekeeperError

    try:
        records = _log(Repository(directory), at or "HEAD", None)  # git finds the clone from any directory in it
    except GitFailed as failure:
        if "not a git repository" in failure.stderr:  # (LC_ALL=C) where `open_repository` fails too
            raise _NoClone from None
        return None
    except GatekeeperError:
        return None
    if len(records) != 1 or len(records[0].parents) > 1:
        return None
    return _traced(records[0], commit_keys(records[0].message, pattern))


class _NoClone(Exception):
    """`directory` is in no git clone: a job that checks out nothing (a gate job that only downloads reports)
    runs git once to learn it, as before the one-run path."""


def _traced(record: _Record, keys: tuple[str, ...]) -> TracedCommit:
    return TracedCommit(sha=record.sha, keys=keys, subject=_subject(record.message))


def _since_last(
    repository: Repository, tip: str, since: Sequence[str], notes: list[str], label: str = "HEAD"
) -> tuple[str | None, str]:
    """The newest earlier verdict's commit `tip` (HEAD, or `label`) descends from (not itself), and how it reads."""
    from gatekeeper.diff.git import GitFailed, is_commit_id

    tried = 0
    for candidate in dict.fromkeys(since):  # several jobs' verdicts of one commit are one candidate
        if not is_commit_id(candidate) or candidate == tip:
            continue
        tried += 1
        if tried > LAST_VERDICTS:
            break
        try:  # (0 and 1 answer for two commits of this clone: the usual case takes one git run, not two)
            repository.run(["merge-base", "--is-ancestor", "--end-of-options", candidate, tip])
        except GitFailed as failure:
            if failure.status == 1:  # not an ancestor: a rewritten branch; an older verdict may still be
                continue
            if repository.commit(candidate) is None:
                notes.append(f"the last verdict's commit {candidate[:12]} is not in this clone: {label} traced alone")
                break
            raise
        return candidate, f"since the last verdict: {candidate[:12]}..{tip[:12]}"
    return None, label


@dataclass(frozen=True, slots=True)
class _Record:
    sha: str
    parents: tuple[str, ...]
    message: str


#: A commit as `git log -z` prints it: id, parents, raw message, separated by US (0x1f).
_FORMAT = "--format=%H%x1f%P%x1f%B"


def _log(repository: Repository, head: str, exclude: str | None) -> list[_Record]:
    """Commits reachable from `head` and not from `exclude` (`head` alone when `exclude` is None), newest
    first, at most MAX_COMMITS + 1, each once; messages cut to MAX_TEXT_CHARS."""
    from gatekeeper.diff.git import is_commit_id

    arguments = [
        "log", "-z", _FORMAT, "--no-color", "--no-show-signature", "--no-notes", "--encoding=UTF-8",
        f"--max-count={MAX_COMMITS + 1 if exclude is not None else 1}", "--end-of-options", head,
        *([f"^{exclude}"] if exclude is not None else []), "--",
    ]  # fmt: skip
    output = repository.run(arguments)
    records: dict[str, _Record] = {}
    for entry in output.split(b"\0"):
        parts = entry.split(b"\x1f", 2)
        if len(parts) != 3:
            continue  # git refuses a NUL in a message; anything else between records is not one
        sha = parts[0].decode("ascii", "replace").strip()
        parents = tuple(parts[1].decode("ascii", "replace").split())
        if not is_commit_id(sha) or not all(is_commit_id(parent) for parent in parents) or sha in records:
            continue
        message = parts[2][: MAX_TEXT_CHARS * 4].decode("utf-8", "replace")[:MAX_TEXT_CHARS]
        records[sha] = _Record(sha=sha, parents=parents, message=message)
    return list(records.values())


def _subject(message: str) -> str:
    """The first line of a message, one line, cut for display."""
    first = message.strip().split("\n", 1)[0] if message.strip() else ""
    subject = one_line(first)
    return subject if len(subject) <= SUBJECT_CHARS else subject[: SUBJECT_CHARS - 1] + "…"
