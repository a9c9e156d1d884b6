"""Deployments and incidents: the events the four delivery keys are computed from (issue 19).

A repeated event is the same event: a CI job retried, a webhook delivered twice, a step re-run must
not count twice (Four Keys #213 let repeated webhook events inflate its counts).  So every event has
an identity computed from what makes it that event, and a store keeps one row per identity:

- a deployment is (project, environment, commit, status, and the CI pipeline or job that deployed),
  or (project, environment, an explicit id the client gives);
- an incident is (project, environment, the client's incident id).

Times are the store's own: when the embedded store or the server recorded the event.  What a client
claims (`claimed_at`) is kept for display only, never used to order or window anything.

Pure: no I/O, no clock.  Reading the commits of a deployment from git lives in `delivery_git`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

#: A deployment's outcome as the CI reports it; only a successful one ships commits.
STATUSES = ("success", "failure")
SUCCESS = "success"
FAILURE = "failure"

#: A full or abbreviated commit id (hex), as git prints it: 7 to 40 (SHA-1) or 64 (SHA-256) digits.
COMMIT_PATTERN = r"^[0-9a-fA-F]{7,64}$"
_COMMIT = re.compile(COMMIT_PATTERN)
#: An environment name: in URLs and pages, so a safe alphabet (GitLab's environment names fit it).
ENVIRONMENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,99}$"
_ENVIRONMENT = re.compile(ENVIRONMENT_PATTERN)
#: The client's incident id or an explicit deployment id: a ticket key, a number, a URL-safe token.
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:#/+-]{0,199}$"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
#: Project, pipeline: free text as CI reports it, but one printable line and bounded.
MAX_TEXT = 1000
#: How many commits one deployment carries at most (a first deployment is bounded by FIRST_DEPLOYMENT_COMMITS).
MAX_COMMITS = 10_000
#: Issue keys per commit kept at most.
MAX_KEYS = 100


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
    return bool(_COMMIT.match(value))


def check_commit(value: str, what: str) -> str:
    """A commit id, normalised to lower case; ValueError naming `what` otherwise."""
    if not isinstance(value, str) or not _COMMIT.match(value):
        raise ValueError(f"{what} must be a commit id (7 to 64 hex digits), not {_shown(value)}")
    return value.lower()


def check_environment(value: str, what: str = "environment") -> str:
    if not isinstance(value, str) or not _ENVIRONMENT.match(value):
        raise ValueError(
            f"{what} must be 1 to 100 characters of letters, digits and . _ / + - (starting with a letter "
            f"or digit), not {_shown(value)}"
        )
    return value


def check_event_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _EVENT_ID.match(value):
        raise ValueError(
            f"{what} must be 1 to 200 characters of letters, digits and . _ : # / + - (starting with a "
            f"letter or digit), not {_shown(value)}"
        )
    return value


def check_status(value: str) -> str:
    if value not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {_shown(value)}")
    return value


def check_text(value: str, what: str) -> str:
    """Free text (project, pipeline): non-empty, one printable line, at most MAX_TEXT characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or not value.isprintable():
        raise ValueError(f"{what} must be one printable line of 1 to {MAX_TEXT} characters, not {_shown(value)}")
    return value


def _shown(value: object) -> str:
    """A bad value quoted for an error message: escaped and cut, so it cannot forge lines or flood."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
