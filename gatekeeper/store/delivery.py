"""Where deployments and incidents are kept: the seam every delivery store implements, and the one
document form they travel in (the server's API, the rows' `body`, the remote client).

Implemented by the embedded `SqliteStore` (`gatekeeper.store.sqlite_delivery`), by the store server
(`gatekeeper.server.delivery`, `/api/v1/deployments` and `/api/v1/incidents`) and by
`RemoteDeliveryStore` (`gatekeeper.store.remote_delivery`).  Every store:

- keeps one row per event identity (`gatekeeper.delivery.deployment_id`, `incident_id`): recording
  the same event again stores nothing and answers the stored event with `created=False`;
- times events by its own clock (`now`, for tests), never by what the client claims;
- refuses a deployment whose `verdict_id` names no verdict it holds of the deployment's project (or of
  no project) with UnknownVerdict, recording nothing: a verdict id is a claim, checked where it is stored;
- links an incident's `caused_by` commit to the first successful deployment of the environment that
  shipped it (its commit or one of its commits), and a resolution to the first successful deployment
  recorded after the incident was opened, if any (so time to restore can be read both ways).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gatekeeper.delivery import (
    MAX_COMMITS,
    MAX_KEYS,
    MAX_TEXT,
    DeployedCommit,
    Deployment,
    Incident,
    check_commit,
    check_environment,
    check_event_id,
    check_status,
    check_text,
    shown,
)
from gatekeeper.store.codec import utc_text

__all__ = [
    "DeliveryStore",
    "DeploymentRequest",
    "IncidentNotFound",
    "UnknownVerdict",
    "check_incident_fields",
    "check_verdict_id",
    "commit_document",
    "commit_upper_bound",
    "deployment_document",
    "deployment_from_document",
    "incident_document",
    "incident_from_document",
    "request_document",
    "request_from_document",
    "time_from_text",
]


class IncidentNotFound(LookupError):
    """Resolving an incident that was never opened in that project and environment."""


class UnknownVerdict(LookupError):
    """A deployment names a verdict (`verdict_id`) that the store it is recorded in does not hold for its
    project: the claim "this gate passed it" would point at nothing, so nothing is recorded."""

    def __init__(self, verdict_id: str, project: str) -> None:
        super().__init__(verdict_id)
        self.verdict_id = verdict_id
        self.project = project


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRequest:
    """What a client asks a store to record, validated and normalised on construction (ValueError
    naming the field).  Not the stored `Deployment`: the id and the time are the store's to give."""

    project: str
    environment: str
    commit: str
    status: str
    commits: tuple[DeployedCommit, ...] = ()
    verdict_id: str | None = None
    pipeline: str | None = None
    url: str | None = None
    explicit_id: str | None = None
    claimed_at: datetime | None = None

    def __post_init__(self) -> None:
        from gatekeeper.context import http_url

        check_text(self.project, "project")
        check_environment(self.environment)
        object.__setattr__(self, "commit", check_commit(self.commit, "commit"))
        check_status(self.status)
        if len(self.commits) > MAX_COMMITS:
            raise ValueError(f"commits: more than {MAX_COMMITS:,}")
        seen: dict[str, DeployedCommit] = {}
        for index, item in enumerate(self.commits):
            sha = check_commit(item.sha, f"commits[{index}].sha")
            keys = tuple(check_text(key, f"commits[{index}].keys") for key in item.keys[:MAX_KEYS])
            if any(" " in key or len(key) > 255 for key in keys):
                raise ValueError(f"commits[{index}].keys: a key has a space or is longer than 255 characters")
            if item.committed_at.tzinfo is None:
                raise ValueError(f"commits[{index}].committed_at: has no time zone")
            seen.setdefault(sha, DeployedCommit(sha=sha, committed_at=item.committed_at, keys=keys))
        # Newest first (then by id): the one order every store answers them in.
        ordered = sorted(seen.values(), key=lambda commit: (-commit.committed_at.timestamp(), commit.sha))
        object.__setattr__(self, "commits", tuple(ordered))
        if self.verdict_id is not None:
            check_verdict_id(self.verdict_id, "verdict_id")
        if self.pipeline is not None:
            check_text(self.pipeline, "pipeline")
        if self.url is not None and (http_url(self.url) is None or len(self.url) > MAX_TEXT):
            raise ValueError(f"url must be an http(s) URL of at most {MAX_TEXT} characters")
        if self.explicit_id is not None:
            check_event_id(self.explicit_id, "id")
        if self.claimed_at is not None and self.claimed_at.tzinfo is None:
            raise ValueError("claimed_at: has no time zone")


def check_verdict_id(value: object, what: str) -> str:
    """A verdict's id (1 to 64 letters, digits and dashes); ValueError naming `what` otherwise."""
    if not isinstance(value, str) or re.fullmatch(r"[A-Za-z0-9-]{1,64}", value) is None:
        raise ValueError(f"{what} must be 1 to 64 letters, digits and dashes (a verdict's id), not {shown(value)}")
    return value


class DeliveryStore(Protocol):
    """What `deploy record`, `incident open|resolve` and the four keys (gatekeeper.dora) need of a store."""

    def record_deployment(self, request: DeploymentRequest, *, now: datetime | None = None) -> tuple[Deployment, bool]:
        """Store the deployment once; (the stored deployment, True) the first time, (it, False) after;
        UnknownVerdict, recording nothing, when its `verdict_id` is no verdict of its project here."""
        ...

    def shipped_commits(self, project: str, environment: str, limit: int) -> list[str]:
        """The commits of the environment's newest `limit` successful deployments, newest first: what
        bounds the next deployment's commits."""
        ...

    def open_incident(
        self,
        *,
        project: str,
        environment: str,
        incident: str,
        caused_by: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Incident, bool]:
        """Open the incident once; (it, True) the first time, (the stored one, False) after."""
        ...

    def resolve_incident(
        self, *, project: str, environment: str, incident: str, now: datetime | None = None
    ) -> tuple[Incident, bool]:
        """Mark it resolved now; (it, True) the first time, (as resolved before, False) after;
        IncidentNotFound when it was never opened."""
        ...

    def deployments(
        self,
        project: str,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Deployment]:
        """Deployments with `since <= deployed_at < until`, oldest first (by the store's time, then id)."""
        ...

    def incidents(
        self,
        project: str,
        environment: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Incident]:
        """Incidents with `since <= opened_at < until`, oldest first."""
        ...


# -- documents ---------------------------------------------------------------------------------------


def time_from_text(value: str) -> datetime:
    """A stored time (`codec.TIME_FORMAT`, or any ISO-8601 with a zone) as an aware datetime."""
    from gatekeeper.delivery import parse_time

    return parse_time(value)


def _time(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


def commit_document(commit: DeployedCommit) -> dict[str, Any]:
    return {"sha": commit.sha, "committed_at": utc_text(commit.committed_at), "keys": list(commit.keys)}


def deployment_document(deployment: Deployment) -> dict[str, Any]:
    """A deployment as JSON: the server's answer and the stored body."""
    return {
        "id": deployment.id,
        "project": deployment.project,
        "environment": deployment.environment,
        "commit": deployment.commit,
        "status": deployment.status,
        "deployed_at": utc_text(deployment.deployed_at),
        "claimed_at": _time(deployment.claimed_at),
        "verdict_id": deployment.verdict_id,
        "pipeline": deployment.pipeline,
        "url": deployment.url,
        "commits": [commit_document(commit) for commit in deployment.commits],
    }


def _commit(document: Any, where: str) -> DeployedCommit:
    if not isinstance(document, Mapping):
        raise ValueError(f"{where}: must be an object with sha, committed_at and keys")
    sha, moment, keys = document.get("sha"), document.get("committed_at"), document.get("keys", [])
    if not isinstance(sha, str) or not isinstance(moment, str) or not isinstance(keys, list):
        raise ValueError(f"{where}: sha and committed_at must be strings, keys a list")
    if not all(isinstance(key, str) for key in keys):
        raise ValueError(f"{where}.keys: must be strings")
    try:
        committed_at = time_from_text(moment)
    except ValueError as error:
        raise ValueError(f"{where}.committed_at: {error}") from None
    return DeployedCommit(sha=sha, committed_at=committed_at, keys=tuple(keys))


def deployment_from_document(document: Mapping[str, Any]) -> Deployment:
    """A stored or answered deployment (as `deployment_document` writes it)."""
    claimed = document.get("claimed_at")
    return Deployment(
        id=str(document["id"]),
        project=str(document["project"]),
        environment=str(document["environment"]),
        commit=str(document["commit"]),
        status=str(document["status"]),
        deployed_at=time_from_text(str(document["deployed_at"])),
        claimed_at=None if claimed is None else time_from_text(str(claimed)),
        verdict_id=document.get("verdict_id"),
        pipeline=document.get("pipeline"),
        url=document.get("url"),
        commits=tuple(_commit(item, f"commits[{index}]") for index, item in enumerate(document.get("commits") or [])),
    )


def request_document(request: DeploymentRequest) -> dict[str, Any]:
    """What a client sends to record a deployment (`POST /api/v1/deployments`)."""
    return {
        "project": request.project,
        "environment": request.environment,
        "commit": request.commit,
        "status": request.status,
        "verdict_id": request.verdict_id,
        "pipeline": request.pipeline,
        "url": request.url,
        "id": request.explicit_id,
        "claimed_at": _time(request.claimed_at),
        "commits": [commit_document(commit) for commit in request.commits],
    }


_REQUEST_KEYS = {
    "project",
    "environment",
    "commit",
    "status",
    "verdict_id",
    "pipeline",
    "url",
    "id",
    "claimed_at",
    "commits",
}


def _claimed_time(value: str) -> datetime:
    """The client's `claimed_at`; a ValueError that names the field (the parser's names only the value)."""
    try:
        return time_from_text(value)
    except ValueError as error:
        raise ValueError(f"claimed_at: {error}") from None


def request_from_document(document: Any) -> DeploymentRequest:
    """A client's request, validated; ValueError naming the field at fault."""
    if not isinstance(document, Mapping):
        raise ValueError("$: must be an object")
    unknown = sorted(str(key) for key in document if key not in _REQUEST_KEYS)
    if unknown:
        raise ValueError(f"$: unknown field {unknown[0][:60]!r}")
    for key in ("project", "environment", "commit", "status"):
        if not isinstance(document.get(key), str):
            raise ValueError(f"$.{key}: required, a string")
    for key in ("verdict_id", "pipeline", "url", "id", "claimed_at"):
        if document.get(key) is not None and not isinstance(document[key], str):
            raise ValueError(f"$.{key}: must be a string or null")
    commits = document.get("commits") or []
    if not isinstance(commits, list):
        raise ValueError("$.commits: must be a list")
    if len(commits) > MAX_COMMITS:
        raise ValueError(f"$.commits: more than {MAX_COMMITS:,}")
    claimed = document.get("claimed_at")
    try:
        claimed_at = None if claimed is None else _claimed_time(claimed)
        return DeploymentRequest(
            project=document["project"],
            environment=document["environment"],
            commit=document["commit"],
            status=document["status"],
            commits=tuple(_commit(item, f"commits[{index}]") for index, item in enumerate(commits)),
            verdict_id=document.get("verdict_id"),
            pipeline=document.get("pipeline"),
            url=document.get("url"),
            explicit_id=document.get("id"),
            claimed_at=claimed_at,
        )
    except ValueError as error:
        raise ValueError(f"$.{error}") from None


def incident_document(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "project": incident.project,
        "environment": incident.environment,
        "incident": incident.incident,
        "opened_at": utc_text(incident.opened_at),
        "resolved_at": _time(incident.resolved_at),
        "caused_by": incident.caused_by,
        "caused_by_deployment": incident.caused_by_deployment,
        "resolved_by_deployment": incident.resolved_by_deployment,
    }


def incident_from_document(document: Mapping[str, Any]) -> Incident:
    resolved = document.get("resolved_at")
    return Incident(
        id=str(document["id"]),
        project=str(document["project"]),
        environment=str(document["environment"]),
        incident=str(document["incident"]),
        opened_at=time_from_text(str(document["opened_at"])),
        resolved_at=None if resolved is None else time_from_text(str(resolved)),
        caused_by=document.get("caused_by"),
        caused_by_deployment=document.get("caused_by_deployment"),
        resolved_by_deployment=document.get("resolved_by_deployment"),
    )


def check_incident_fields(
    project: str, environment: str, incident: str, caused_by: str | None = None
) -> tuple[str, str, str, str | None]:
    """The fields of an incident event, validated (ValueError naming the field)."""
    return (
        check_text(project, "project"),
        check_environment(environment),
        check_event_id(incident, "incident"),
        None if caused_by is None else check_commit(caused_by, "caused_by"),
    )


def commit_upper_bound(prefix: str) -> str:
    """The smallest text above every lower-case hex id starting with `prefix` ('g' follows 'f' and '9'):
    an abbreviated commit is the range [prefix, bound), which an index answers without LIKE."""
    return prefix + "g"
