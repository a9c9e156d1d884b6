"""Deployments and incidents: the events the four delivery keys are computed from (issue 19).

A repeated event is the same event: a CI job retried, a webhook delivered twice, a step re-run must
not count twice (Four Keys #213 let repeated webhook events inflate its counts).  So every event has
an identity computed from what makes it that event, and a store keeps one row per identity:

- a deployment is (project, environment, commit, status, and the CI pipeline or job that deployed),
  or (project, environment, an explicit id the client gives);
- an incident is (project, environment, the client's incident id).

Times are the store's own: when the embedded store or the server recorded the event.  What a client
claims (`claimed_at`) is kept for display only, never used to order or window anything.

The commits of a deployment are those it shipped: reachable from its commit and from no earlier
successful deployment of the environment (`git rev-list SHA ^PREV...`), all of them, not only the first
parent: a merged branch's commits each reach the environment with the merge, and a change's lead time
starts at its own commit.  A squash merge leaves one commit (the squash, at its committer time: the
branch's commits are not in the history deployed); a merge commit is listed with the commits it brings;
a revert is a commit like any other.  The first deployment of an environment, or one whose earlier
deployments are not in the clone, lists at most FIRST_DEPLOYMENT_COMMITS commits (the newest).  A
pipeline without the repository gives the list itself (`read_commits_file`).

Pure but for git: no clock, no store; the identity and validation functions touch nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.errors import InputError, UsageError, one_line
from gatekeeper.trace import DEFAULT_KEY_PATTERN, issue_keys
from gatekeeper.words import plural

if TYPE_CHECKING:
    from gatekeeper.diff.git import Repository

#: GitLab names the environment of a deployment job here (`environment:` in .gitlab-ci.yml).
ENVIRONMENT_VARIABLE = "CI_ENVIRONMENT_NAME"
#: A deployment's outcome as the CI reports it; only a successful one ships commits.
STATUSES = ("success", "failure")
SUCCESS = "success"
FAILURE = "failure"

#: A full or abbreviated commit id (hex), as git prints it: 7 to 40 (SHA-1) or 64 (SHA-256) digits.
COMMIT_PATTERN = r"^[0-9a-fA-F]{7,64}$"
_COMMIT = re.compile(COMMIT_PATTERN)
#: An environment name: in URLs and pages, so a safe alphabet (GitLab's names without `$`, `{` and `}`;
#: a space only inside).
ENVIRONMENT_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9._/+ -]{0,98}[A-Za-z0-9._/+-])?$"
_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
#: The client's incident id or an explicit deployment id: a ticket key, a number, a URL-safe token.
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:#/+-]{0,199}$"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
#: Project, pipeline: free text as CI reports it, but one printable line, bounded in UTF-8 bytes (as the
#: server's indexed columns are: `db.MAX_INDEXED_BYTES`).
MAX_TEXT = 1000
#: How many commits one deployment carries at most (a first deployment is bounded by FIRST_DEPLOYMENT_COMMITS).
MAX_COMMITS = 10_000
#: Issue keys per commit kept at most.
MAX_KEYS = 50
#: Commits listed for an environment's first deployment (no earlier one bounds the history): the newest.
FIRST_DEPLOYMENT_COMMITS = 100
#: Earlier successful deployments whose commits are excluded (the newest); older ones are behind them.
PREVIOUS_DEPLOYMENTS = 20
#: The largest --commits-file read.
MAX_COMMITS_FILE_BYTES = 8 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployedCommit:
    """A commit a deployment shipped: its committer time (when the change was made) and issue keys."""

    sha: str
    committed_at: datetime
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    """One deployment of a commit to an environment, as recorded (`deployed_at` is the store's time)."""

    id: str
    project: str
    environment: str
    commit: str
    status: str  # "success" | "failure"
    deployed_at: datetime
    verdict_id: str | None = None
    pipeline: str | None = None
    url: str | None = None
    commits: tuple[DeployedCommit, ...] = ()
    claimed_at: datetime | None = None  # the client's word, for display only

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """An incident in an environment, from opening to resolution (times are the store's).

    `caused_by` is the commit the client blamed; `caused_by_deployment` the successful deployment that
    shipped it (the earliest one in the environment); `resolved_by_deployment` the first successful
    deployment recorded after the incident was opened, if any (time to restore "to the next deployment").
    """

    id: str
    project: str
    environment: str
    incident: str
    opened_at: datetime
    resolved_at: datetime | None = None
    caused_by: str | None = None
    caused_by_deployment: str | None = None
    resolved_by_deployment: str | None = None


def _digest(kind: str, *parts: str | None) -> str:
    """A stable id from the fields that make an event itself; NUL-separated so no two tuples collide."""
    text = "\0".join([kind, *("" if part is None else part for part in parts)])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def deployment_id(
    *, project: str, environment: str, commit: str, status: str, pipeline: str | None, explicit: str | None = None
) -> str:
    """The identity of a deployment event: the same deployment reported twice gets the same id.

    With an explicit id (`--id`), that id within the project and environment; otherwise the commit,
    its status and the pipeline or job that deployed.  Without a pipeline, deploying the same commit
    with the same status again is the same event (a re-run), which is what a retried step means.
    """
    if explicit is not None:
        return "d" + _digest("deployment-id", project, environment, explicit)
    return "d" + _digest("deployment", project, environment, commit.lower(), status, pipeline)


def incident_id(*, project: str, environment: str, incident: str) -> str:
    """The identity of an incident: the client's id within the project and environment."""
    return "i" + _digest("incident", project, environment, incident)


def is_commit(value: str) -> bool:
    return bool(_COMMIT.fullmatch(value))


def check_commit(value: str, what: str) -> str:
    """A commit id, normalised to lower case; ValueError naming `what` otherwise."""
    if not isinstance(value, str) or not _COMMIT.fullmatch(value):
        raise ValueError(f"{what} must be a commit id (7 to 64 hex digits), not {shown(value)}")
    return value.lower()


def resolve_commit(value: str, what: str, directory: Path) -> str:
    """A commit id as `check_commit` gives it; a revision such as HEAD or a tag is resolved in the git clone
    `directory` is in (ValueError naming `what` when there is no clone or it names no commit)."""
    if _COMMIT.fullmatch(value):
        return value.lower()
    from gatekeeper.diff.git import commit_in_clone

    try:
        full = commit_in_clone(directory, value, what)
    except UsageError:
        full = None
    if full is None:
        raise ValueError(not_a_commit(value, what))
    return full


def not_a_commit(value: str, what: str) -> str:
    """Why `value` (from `what`: an option or a CI variable) is no commit: one message for check and deploy."""
    return f"{what} must be a commit id (7 to 64 hex digits), or a revision of the git clone here, not {shown(value)}"


def check_environment(value: str, what: str = "environment") -> str:
    if not isinstance(value, str) or not _ENVIRONMENT.fullmatch(value):
        raise ValueError(
            f"{what} must be 1 to 100 characters of letters, digits, spaces and . _ / + - (starting with a "
            f"letter or digit, not ending with a space), not {shown(value)}"
        )
    return value


def check_event_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _EVENT_ID.fullmatch(value):
        raise ValueError(
            f"{what} must be 1 to 200 characters of letters, digits and . _ : # / + - (starting with a "
            f"letter or digit), not {shown(value)}"
        )
    return value


def check_status(value: str) -> str:
    if value not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {shown(value)}")
    return value


def check_text(value: str, what: str) -> str:
    """Free text (project, pipeline): non-empty, one printable line, at most MAX_TEXT characters."""
    if (
        not isinstance(value, str)
        or not value
        or not value.isprintable()
        or value != value.strip()
        or len(value.encode("utf-8", "surrogatepass")) > MAX_TEXT
    ):
        raise ValueError(
            f"{what} must be one printable line of 1 to {MAX_TEXT} bytes (UTF-8) without surrounding spaces, "
            f"not {shown(value)}"
        )
    return value


def shown(value: object) -> str:
    """A bad value quoted for an error message: escaped and cut, so it cannot forge lines or flood."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippedCommits:
    """The commits a deployment shipped, and what the reader had to leave out (for the log, one line each)."""

    commits: tuple[DeployedCommit, ...]
    notes: tuple[str, ...] = ()


def commits_from_git(
    repository: Repository,
    commit: str,
    previous: Sequence[str],
    *,
    pattern: str = DEFAULT_KEY_PATTERN,
    first_limit: int = FIRST_DEPLOYMENT_COMMITS,
) -> ShippedCommits:
    """The commits reachable from `commit` and from none of `previous` (the environment's earlier
    successful deployments, newest first), each with its committer time and issue keys, newest first.

    `commit` must be a full commit id the repository has (`Repository.commit`).  Earlier deployments the
    clone does not hold are skipped; with none left, the history is bounded to `first_limit` commits.
    """
    from gatekeeper.diff.git import GitFailed

    notes: list[str] = []
    known = []
    for sha in previous[:PREVIOUS_DEPLOYMENTS]:
        full = repository.commit(sha) if is_commit(sha) else None
        if full is not None:
            known.append(full)
    missing = len(previous[:PREVIOUS_DEPLOYMENTS]) - len(known)
    if previous and not known:
        notes.append(
            f"the environment's earlier deployments ({previous[0][:12]}…) are not in this clone's history: "
            f"listing at most the newest {first_limit} commits (fetch the full history to list exactly)"
        )
    elif missing:
        notes.append(
            f"{plural(missing, 'earlier deployment')} not in this clone's history "
            f"{'was' if missing == 1 else 'were'} not used to bound the list"
        )
    limit = MAX_COMMITS if known else first_limit
    if repository.is_shallow():
        notes.append("the clone is shallow: commits before its depth are not listed (fetch with depth 0)")
    arguments = [
        "log",
        "--no-color",
        "--format=%H%x1f%ct%x1f%B%x1e",
        f"--max-count={limit + 1}",
        "--end-of-options",
        commit,
        *(f"^{sha}" for sha in known),
        "--",
    ]
    try:
        output = repository.run(arguments)
    except GitFailed as failure:
        raise UsageError(f"git could not list the commits of {commit[:12]}: {one_line(failure.stderr)[:200]}") from None
    commits = _parse_log(output, pattern, notes)
    if len(commits) > limit:
        commits = commits[:limit]
        if known:
            notes.append(f"more than {limit} commits since the previous deployment: the newest {limit} are listed")
        elif not previous:
            notes.append(f"first deployment of this environment: the newest {limit} commits are listed")
    return ShippedCommits(commits=tuple(commits), notes=tuple(notes))


def _parse_log(output: bytes, pattern: str, notes: list[str]) -> list[DeployedCommit]:
    commits = []
    for record in output.split(b"\x1e"):
        record = record.strip(b"\n")
        if not record:
            continue
        sha, _, rest = record.partition(b"\x1f")
        seconds, _, message = rest.partition(b"\x1f")
        full = sha.decode("ascii").lower()
        commits.append(
            DeployedCommit(
                sha=full,
                committed_at=_committer_time(full, seconds, notes),
                keys=tuple(issue_keys(message.decode("utf-8", "replace"), pattern)[:MAX_KEYS]),
            )
        )
    return commits


#: The committer time kept for a commit whose own no date can hold (`GIT_COMMITTER_DATE="@999999999999"`,
#: year 33658; or none git can print): after every deployment, so the lead time leaves the commit out and
#: counts it (`dated_after_deployment`), as it does a commit dated after its deployment.
UNDATED = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


def _committer_time(sha: str, seconds: bytes, notes: list[str]) -> datetime:
    """A commit's committer time from `git log %ct`; UNDATED, with a note, when it is no date.

    A forged date is in the history of every later deployment: refusing it would block them all."""
    try:
        return datetime.fromtimestamp(int(seconds), timezone.utc)
    except (ValueError, OverflowError, OSError):
        notes.append(
            f"commit {sha[:12]} has a committer time no date holds ({seconds[:40].decode('ascii', 'replace')!r} "
            "seconds): kept as dated after the deployment, left out of the lead time"
        )
        return UNDATED


def read_commits_file(path: str | Path, *, pattern: str = DEFAULT_KEY_PATTERN) -> tuple[DeployedCommit, ...]:
    """The commits of a deployment as a pipeline without the repository gives them: one per line,
    `SHA TIME [TEXT]`, TIME ISO-8601 with a zone (or Unix seconds), TEXT searched for issue keys
    (what `git log --format='%H %cI %s' PREV..SHA` prints).  Blank lines and `#` comments are skipped;
    a commit listed twice is kept once."""
    source = Path(path)
    try:
        with source.open("rb") as handle:
            data = handle.read(MAX_COMMITS_FILE_BYTES + 1)
    except OSError as error:
        raise InputError(source, f"cannot be read: {error.strerror}") from None
    if len(data) > MAX_COMMITS_FILE_BYTES:
        raise InputError(source, f"is larger than {MAX_COMMITS_FILE_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(source, f"is not UTF-8 text (byte {error.start})") from None
    commits: dict[str, DeployedCommit] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 2)
        where = f"{source}:{number}"
        if len(fields) < 2:
            raise InputError(where, "expected 'SHA TIME [TEXT]' (e.g. git log --format='%H %cI %s')")
        sha, moment = fields[0], fields[1]
        if not is_commit(sha):
            raise InputError(where, f"{shown(sha)} is not a commit id (7 to 64 hex digits)")
        try:
            committed_at = parse_time(moment)
        except ValueError as error:
            raise InputError(where, str(error)) from None
        keys = tuple(issue_keys(fields[2], pattern)[:MAX_KEYS]) if len(fields) > 2 else ()
        commits.setdefault(sha.lower(), DeployedCommit(sha=sha.lower(), committed_at=committed_at, keys=keys))
        if len(commits) > MAX_COMMITS:
            raise InputError(source, f"lists more than {MAX_COMMITS:,} commits")
    return tuple(commits.values())


def parse_time(value: str) -> datetime:
    """An ISO-8601 time with a zone, or Unix seconds, as an aware UTC datetime; ValueError otherwise."""
    if value.isdigit() and len(value) <= 12:
        return datetime.fromtimestamp(int(value), timezone.utc)
    text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{shown(value)} is not an ISO-8601 time (or Unix seconds)") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{shown(value)} has no time zone; give UTC ('Z') or an offset")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{shown(value)} is out of range") from None
