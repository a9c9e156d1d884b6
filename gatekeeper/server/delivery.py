"""Deployments and incidents on the store server: their tables, queries, and the routes under
`/api/v1/deployments` and `/api/v1/incidents` (issue 19).

The same semantics as the embedded store (`gatekeeper.store.sqlite_delivery`), on SQLite and PostgreSQL:
one row per event identity (the INSERT wins or does nothing, so a repeated webhook or a retried step is
stored once, even when both arrive at once), times are this server's received time, an incident is
linked to the first successful deployment that shipped its cause and, when resolved, to the first one
after its opening.  Recording needs an upload token allowed for the project; listing a read token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from gatekeeper.delivery import (
    ENVIRONMENT_PATTERN,
    MAX_TEXT,
    SUCCESS,
    DeployedCommit,
    Deployment,
    Incident,
    deployment_id,
    incident_id,
)
from gatekeeper.server.auth import Scope, Token
from gatekeeper.server.db import metadata
from gatekeeper.store.codec import canonical_json, utc_text
from gatekeeper.store.delivery import (
    DeploymentRequest,
    IncidentNotFound,
    UnknownVerdict,
    check_incident_fields,
    commit_upper_bound,
    deployment_document,
    deployment_from_document,
    incident_document,
    request_from_document,
    time_from_text,
)

API = "/api/v1"
#: A deployment's body may list up to MAX_COMMITS commits (~120 bytes each): more than a verdict's limit.
MAX_DEPLOYMENT_BODY = 4 * 1024 * 1024
#: An incident event is a few fields.
MAX_INCIDENT_BODY = 16 * 1024
#: Events one list answers at most; `after` pages on.
MAX_PAGE = 1000

deployments = Table(
    "deployments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project", Text, nullable=False),
    Column("environment", String(128), nullable=False),
    Column("commit", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("verdict_id", String(64)),
    Column("pipeline", Text),
    Column("url", Text),
    Column("deployed_at", String(32), nullable=False),
    Column("claimed_at", String(32)),
    Column("body", Text, nullable=False),  # the deployment without its commits (deployment_commits), JSON
    Index("deployments_environment_deployed", "project", "environment", "deployed_at", "id"),
    Index("deployments_environment_commit", "project", "environment", "commit", "status"),
)

deployment_commits = Table(
    "deployment_commits",
    metadata,
    Column("deployment_id", String(64), ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True),
    Column("sha", String(64), primary_key=True),
    Column("committed_at", String(32), nullable=False),
    Column("keys", Text, nullable=False),  # issue keys, space-separated
    Index("deployment_commits_sha", "sha", "deployment_id"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project", Text, nullable=False),
    Column("environment", String(128), nullable=False),
    Column("incident", String(255), nullable=False),
    Column("opened_at", String(32), nullable=False),
    Column("resolved_at", String(32)),
    Column("caused_by", String(64)),
    Column("caused_by_deployment", String(64)),
    Column("resolved_by_deployment", String(64)),
    Index("incidents_environment_opened", "project", "environment", "opened_at", "id"),
)

_OLDEST_FIRST = (deployments.c.deployed_at, deployments.c.id)


# -- queries -----------------------------------------------------------------------------------------


def record_deployment(
    engine: Engine, request: DeploymentRequest, now: datetime | None = None
) -> tuple[Deployment, bool]:
    """Store the deployment once, received now; (stored, created).  UnknownVerdict, storing nothing, when
    its verdict_id is no verdict of its project (or of none) on this server."""
    from gatekeeper.server.db import _insert, verdicts

    deployment = Deployment(
        id=deployment_id(
            project=request.project,
            environment=request.environment,
            commit=request.commit,
            status=request.status,
            pipeline=request.pipeline,
            explicit=request.explicit_id,
        ),
        project=request.project,
        environment=request.environment,
        commit=request.commit,
        status=request.status,
        deployed_at=time_from_text(utc_text(now or datetime.now(timezone.utc))),
        verdict_id=request.verdict_id,
        pipeline=request.pipeline,
        url=request.url,
        commits=request.commits,
        claimed_at=request.claimed_at,
    )
    document = deployment_document(deployment)
    del document["commits"]
    row = {key: document[key] for key in ("id", "project", "environment", "commit", "status", "verdict_id")}
    row |= {key: document[key] for key in ("pipeline", "url", "deployed_at", "claimed_at")}
    row["body"] = canonical_json(document)
    commits = [
        {
            "deployment_id": deployment.id,
            "sha": commit.sha,
            "committed_at": utc_text(commit.committed_at),
            "keys": " ".join(commit.keys),
        }
        for commit in deployment.commits
    ]
    with _one_writer(engine), engine.begin() as connection:
        if request.verdict_id is not None:
            named = select(verdicts.c.id).where(
                verdicts.c.id == request.verdict_id,
                or_(verdicts.c.project == request.project, verdicts.c.project.is_(None)),
            )
            if connection.execute(named).first() is None:
                raise UnknownVerdict(request.verdict_id, request.project)
        inserted = connection.execute(_insert(connection, deployments).returning(deployments.c.id), row).first()
        if inserted is not None:
            if commits:
                connection.execute(deployment_commits.insert(), commits)
            return deployment, True
        return _deployments(connection, [deployments.c.id == deployment.id])[0], False


def shipped_commits(engine: Engine, project: str, environment: str, limit: int) -> list[str]:
    """The commits of the environment's newest `limit` successful deployments, newest first."""
    query = (
        select(deployments.c.commit)
        .where(
            deployments.c.project == project,
            deployments.c.environment == environment,
            deployments.c.status == SUCCESS,
        )
        .order_by(deployments.c.deployed_at.desc(), deployments.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return list(dict.fromkeys(str(sha) for sha in connection.execute(query).scalars()))


def list_deployments(
    engine: Engine,
    project: str,
    environment: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[Deployment]:
    """Deployments with `since <= deployed_at < until` (stored time text), oldest first, after a key."""
    clauses = _window(deployments, deployments.c.deployed_at, project, environment, since, until)
    if status is not None:
        clauses.append(deployments.c.status == status)
    if after is not None:
        clauses.append(
            or_(
                deployments.c.deployed_at > after[0],
                and_(deployments.c.deployed_at == after[0], deployments.c.id > after[1]),
            )
        )
    with engine.connect() as connection:
        return _deployments(connection, clauses, limit)


def _deployments(
    connection: Connection, clauses: list[ColumnElement[bool]], limit: int | None = None
) -> list[Deployment]:
    query = select(deployments.c.id, deployments.c.body).where(*clauses).order_by(*_OLDEST_FIRST)
    if limit is not None:
        query = query.limit(limit)
    rows = connection.execute(query).all()
    if not rows:
        return []
    commits: dict[str, list[DeployedCommit]] = {str(row.id): [] for row in rows}
    for start in range(0, len(rows), 500):  # bounded IN lists
        chunk = [str(row.id) for row in rows[start : start + 500]]
        found = connection.execute(
            select(deployment_commits)
            .where(deployment_commits.c.deployment_id.in_(chunk))
            .order_by(
                deployment_commits.c.deployment_id, deployment_commits.c.committed_at.desc(), deployment_commits.c.sha
            )
        )
        for item in found:
            commits[item.deployment_id].append(
                DeployedCommit(
                    sha=item.sha, committed_at=time_from_text(item.committed_at), keys=tuple(item.keys.split())
                )
            )
    result = []
    for row in rows:
        document = json.loads(row.body)
        document["commits"] = []
        result.append(replace(deployment_from_document(document), commits=tuple(commits[str(row.id)])))
    return result


def _shipped_by(project: str, environment: str, sha: str, at: str) -> Any:
    """The first successful deployment of the environment that shipped `sha` (or a commit it abbreviates)."""
    above = commit_upper_bound(sha)
    listed = select(deployment_commits.c.deployment_id).where(
        deployment_commits.c.sha >= sha, deployment_commits.c.sha < above
    )
    own = deployments.c.commit
    return (
        select(deployments.c.id)
        .where(
            deployments.c.project == project,
            deployments.c.environment == environment,
            deployments.c.status == SUCCESS,
            deployments.c.deployed_at <= at,
            or_(
                own == sha,
                func.substr(sha, 1, func.length(own)) == own,
                and_(own >= sha, own < above),
                deployments.c.id.in_(listed),
            ),
        )
        .order_by(*_OLDEST_FIRST)
        .limit(1)
    )


def open_incident(
    engine: Engine,
    *,
    project: str,
    environment: str,
    incident: str,
    caused_by: str | None = None,
    now: datetime | None = None,
) -> tuple[Incident, bool]:
    """Open the incident once; (stored, created)."""
    from gatekeeper.server.db import _insert

    project, environment, incident, caused_by = check_incident_fields(project, environment, incident, caused_by)
    identifier = incident_id(project=project, environment=environment, incident=incident)
    opened_at = utc_text(now or datetime.now(timezone.utc))
    with _one_writer(engine), engine.begin() as connection:
        cause = None
        if caused_by is not None:
            cause = connection.execute(_shipped_by(project, environment, caused_by, opened_at)).scalar()
        row = {
            "id": identifier,
            "project": project,
            "environment": environment,
            "incident": incident,
            "opened_at": opened_at,
            "resolved_at": None,
            "caused_by": caused_by,
            "caused_by_deployment": cause,
            "resolved_by_deployment": None,
        }
        inserted = connection.execute(_insert(connection, incidents).returning(incidents.c.id), row).first()
        stored = _incident(connection, identifier)
    assert stored is not None
    return stored, inserted is not None


def resolve_incident(
    engine: Engine, *, project: str, environment: str, incident: str, now: datetime | None = None
) -> tuple[Incident, bool]:
    """Resolve it now (once); IncidentNotFound when never opened."""
    project, environment, incident, _ = check_incident_fields(project, environment, incident)
    identifier = incident_id(project=project, environment=environment, incident=incident)
    resolved_at = utc_text(now or datetime.now(timezone.utc))
    with _one_writer(engine), engine.begin() as connection:
        found = _incident(connection, identifier)
        if found is None:
            raise IncidentNotFound(incident)
        if found.resolved_at is not None:
            return found, False
        opened_at = utc_text(found.opened_at)
        restored_by = connection.execute(
            select(deployments.c.id)
            .where(
                deployments.c.project == project,
                deployments.c.environment == environment,
                deployments.c.status == SUCCESS,
                deployments.c.deployed_at >= opened_at,
                deployments.c.deployed_at <= resolved_at,
            )
            .order_by(*_OLDEST_FIRST)
            .limit(1)
        ).scalar()
        changed = connection.execute(
            update(incidents)
            .where(incidents.c.id == identifier, incidents.c.resolved_at.is_(None))
            .values(resolved_at=max(resolved_at, opened_at), resolved_by_deployment=restored_by)
        ).rowcount
        stored = _incident(connection, identifier)
    assert stored is not None
    return stored, changed == 1


def list_incidents(
    engine: Engine,
    project: str,
    environment: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[Incident]:
    """Incidents with `since <= opened_at < until`, oldest first, after a key."""
    clauses = _window(incidents, incidents.c.opened_at, project, environment, since, until)
    if after is not None:
        clauses.append(
            or_(incidents.c.opened_at > after[0], and_(incidents.c.opened_at == after[0], incidents.c.id > after[1]))
        )
    query = select(incidents).where(*clauses).order_by(incidents.c.opened_at, incidents.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        return [_incident_row(row) for row in connection.execute(query)]


def _incident(connection: Connection, identifier: str) -> Incident | None:
    row = connection.execute(select(incidents).where(incidents.c.id == identifier)).first()
    return None if row is None else _incident_row(row)


def _incident_row(row: Any) -> Incident:
    return Incident(
        id=row.id,
        project=row.project,
        environment=row.environment,
        incident=row.incident,
        opened_at=time_from_text(row.opened_at),
        resolved_at=None if row.resolved_at is None else time_from_text(row.resolved_at),
        caused_by=row.caused_by,
        caused_by_deployment=row.caused_by_deployment,
        resolved_by_deployment=row.resolved_by_deployment,
    )


def _window(
    table: Table, column: Any, project: str, environment: str | None, since: str | None, until: str | None
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [table.c.project == project]
    if environment is not None:
        clauses.append(table.c.environment == environment)
    if since is not None:
        clauses.append(column >= since)
    if until is not None:
        clauses.append(column < until)
    return clauses


def _one_writer(engine: Engine) -> Any:
    from gatekeeper.server.db import _one_writer as one_writer

    return one_writer(engine)


# -- API -----------------------------------------------------------------------------------------------

_STRING: dict[str, Any] = {"type": "string"}
_NULLABLE: dict[str, Any] = {"type": ["string", "null"]}
#: The bodies the POSTs take, for the OpenAPI document (the handlers check them field by field).
_DEPLOYMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["project", "environment", "commit", "status"],
    "additionalProperties": False,
    "properties": {
        "project": _STRING,
        "environment": {"type": "string", "pattern": ENVIRONMENT_PATTERN},
        "commit": {"type": "string", "description": "7 to 64 hex digits"},
        "status": {"enum": ["success", "failure"]},
        "commits": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sha", "committed_at"],
                "properties": {
                    "sha": _STRING,
                    "committed_at": {"type": "string", "description": "ISO-8601 with a zone"},
                    "keys": {"type": "array", "items": _STRING},
                },
            },
        },
        "verdict_id": _NULLABLE,
        "pipeline": _NULLABLE,
        "url": _NULLABLE,
        "id": {**_NULLABLE, "description": "an explicit event id: the deployment's identity instead of its fields"},
        "claimed_at": {**_NULLABLE, "description": "the client's time, kept for display only"},
    },
}
_INCIDENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["project", "environment", "incident"],
    "additionalProperties": False,
    "properties": {"project": _STRING, "environment": _STRING, "incident": _STRING, "caused_by": _NULLABLE},
}

_RESOLUTION_SCHEMA: dict[str, Any] = {
    **_INCIDENT_SCHEMA,
    "properties": {"project": _STRING, "environment": _STRING, "incident": _STRING},
}


def unknown_verdict_document(error: UnknownVerdict) -> dict[str, str]:
    """The 422 answer to a deployment naming a verdict this server does not hold: the field at fault is
    named in `path` (as the verdict API names it), so a client can name its own option for it."""
    return {
        "detail": f"$.verdict_id: no verdict {error.verdict_id!r} of project {error.project!r} is stored here",
        "path": "verdict_id",
    }


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


Requires = Callable[[Scope], Callable[..., Awaitable[Token]]]
_TEXT: dict[str, Any] = {"min_length": 1, "max_length": MAX_TEXT, "pattern": r"^[^\x00-\x1f\x7f]+$"}


async def _body(request: Request, limit: int) -> Any:
    from gatekeeper.server.app import Unstorable, parse_body

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body over {limit} bytes")
        chunks.append(chunk)
    try:
        return parse_body(b"".join(chunks))
    except Unstorable as error:
        raise HTTPException(422, f"body refused: {error}") from None
    except (ValueError, RecursionError) as error:
        raise HTTPException(422, f"body is not JSON: {error}") from None


def _allowed(token: Token, project: str) -> None:
    if not token.allows_project(project):
        raise HTTPException(403, f"this token may not record events of project {project!r}")


def _instant(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return utc_text(value, naive_is_utc=True)
    except ValueError as error:
        raise HTTPException(422, f"{name}: {error}") from None


def _after(value: str | None) -> tuple[str, str] | None:
    """A page's `after` key: `TIME,ID` of the last event of the previous page."""
    if value is None:
        return None
    moment, _, identifier = value.partition(",")
    if not identifier:
        raise HTTPException(422, "after: must be TIME,ID (the next_after of the previous page)")
    return _instant("after", moment) or "", identifier


def _fields(document: Any, names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        raise HTTPException(422, "$: must be an object")
    unknown = [str(key) for key in document if key not in names + optional]
    if unknown:
        raise HTTPException(422, f"$: unknown field {unknown[0][:60]!r}")
    for name in names + optional:
        value = document.get(name)
        if (name in names or value is not None) and not isinstance(value, str):
            raise HTTPException(422, f"$.{name}: {'required, ' if name in names else ''}a string")
    return dict(document)


def router(requires: Requires) -> APIRouter:
    """The delivery routes; `requires(scope)` is the app's token dependency (401/403 before a handler)."""
    routes = APIRouter(prefix=API, tags=["delivery"])
    reader = [Depends(requires(Scope.READ))]
    # The token as a default, not in an annotation: with postponed annotations FastAPI resolves those in
    # the module's globals, where names local to this function do not exist.
    uploader = Depends(requires(Scope.UPLOAD))
    problems: dict[int | str, dict[str, Any]] = {
        401: {"description": "Missing, invalid, expired or revoked token."},
        403: {"description": "The token's scope or projects do not allow it."},
        413: {"description": "Body over the size limit."},
        422: {"description": "Not JSON, or a field that is wrong (named; in `path` too when it is verdict_id)."},
    }

    @routes.post(
        "/deployments",
        status_code=201,
        responses={200: {"description": "Already recorded."}, **problems},
        openapi_extra=_body_doc(_DEPLOYMENT_SCHEMA),
    )
    async def post_deployment(request: Request, token: Token = uploader) -> Any:
        """Record a deployment: 201 the first time, 200 with the stored one when the same event comes again.

        Body: project, environment, commit, status (success|failure), and optionally commits
        [{sha, committed_at, keys}], verdict_id, pipeline, url, id (an explicit event id), claimed_at.
        `deployed_at` is this server's received time."""
        document = await _body(request, MAX_DEPLOYMENT_BODY)
        try:
            deployment_request = request_from_document(document)
        except ValueError as error:
            raise HTTPException(422, str(error)) from None
        _allowed(token, deployment_request.project)
        engine: Engine = request.app.state.engine
        try:
            deployment, created = await run_in_threadpool(record_deployment, engine, deployment_request)
        except UnknownVerdict as error:
            return JSONResponse(unknown_verdict_document(error), status_code=422)
        body = deployment_document(deployment) | {"created": created}
        return JSONResponse(body, status_code=201 if created else 200)

    @routes.get("/deployments", dependencies=reader)
    def get_deployments(
        request: Request,
        project: Annotated[str, Query(**_TEXT)],
        environment: Annotated[str | None, Query(pattern=ENVIRONMENT_PATTERN)] = None,
        status: Annotated[str | None, Query(pattern="^(success|failure)$")] = None,
        since: Annotated[str | None, Query(max_length=64, description="ISO-8601, inclusive")] = None,
        until: Annotated[str | None, Query(max_length=64, description="ISO-8601, exclusive")] = None,
        after: Annotated[str | None, Query(max_length=200, description="next_after of the previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    ) -> dict[str, Any]:
        """A project's deployments, oldest first by the server's time (then id), with their commits."""
        items = list_deployments(
            request.app.state.engine,
            project,
            environment,
            _instant("since", since),
            _instant("until", until),
            status,
            _after(after),
            limit + 1,
        )
        more = len(items) > limit
        items = items[:limit]
        return {
            "items": [deployment_document(item) for item in items],
            "next_after": f"{utc_text(items[-1].deployed_at)},{items[-1].id}" if more else None,
        }

    @routes.get("/deployments/shipped")
    def get_shipped(
        request: Request,
        project: Annotated[str, Query(**_TEXT)],
        environment: Annotated[str, Query(pattern=ENVIRONMENT_PATTERN)],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        token: Token = uploader,
    ) -> dict[str, Any]:
        """The commits of the environment's newest successful deployments, newest first: what bounds the
        commits of the next deployment, so asked with the upload token that will record it."""
        _allowed(token, project)
        return {"commits": shipped_commits(request.app.state.engine, project, environment, limit)}

    @routes.post(
        "/incidents",
        status_code=201,
        responses={200: {"description": "Already open."}, **problems},
        openapi_extra=_body_doc(_INCIDENT_SCHEMA),
    )
    async def post_incident(request: Request, token: Token = uploader) -> Any:
        """Open an incident: 201 the first time, 200 with the stored one after.  Body: project,
        environment, incident (the client's id), caused_by (a commit, optional)."""
        fields = _fields(
            await _body(request, MAX_INCIDENT_BODY), ("project", "environment", "incident"), ("caused_by",)
        )
        try:
            check_incident_fields(fields["project"], fields["environment"], fields["incident"], fields.get("caused_by"))
        except ValueError as error:
            raise HTTPException(422, f"$.{error}") from None
        _allowed(token, fields["project"])
        incident, created = await run_in_threadpool(
            lambda: open_incident(
                request.app.state.engine,
                project=fields["project"],
                environment=fields["environment"],
                incident=fields["incident"],
                caused_by=fields.get("caused_by"),
            )
        )
        return JSONResponse(incident_document(incident) | {"created": created}, status_code=201 if created else 200)

    @routes.post(
        "/incidents/resolve",
        responses={404: {"description": "No such incident was opened."}, **problems},
        openapi_extra=_body_doc(_RESOLUTION_SCHEMA),
    )
    async def post_resolution(request: Request, token: Token = uploader) -> Any:
        """Resolve an incident: 200 with `changed` true the first time, false after.  Body: project,
        environment, incident."""
        fields = _fields(await _body(request, MAX_INCIDENT_BODY), ("project", "environment", "incident"))
        try:
            check_incident_fields(fields["project"], fields["environment"], fields["incident"])
        except ValueError as error:
            raise HTTPException(422, f"$.{error}") from None
        _allowed(token, fields["project"])
        try:
            incident, changed = await run_in_threadpool(
                lambda: resolve_incident(
                    request.app.state.engine,
                    project=fields["project"],
                    environment=fields["environment"],
                    incident=fields["incident"],
                )
            )
        except IncidentNotFound:
            raise HTTPException(404, f"no incident {fields['incident']!r} was opened in this environment") from None
        return JSONResponse(incident_document(incident) | {"changed": changed})

    @routes.get("/incidents", dependencies=reader)
    def get_incidents(
        request: Request,
        project: Annotated[str, Query(**_TEXT)],
        environment: Annotated[str | None, Query(pattern=ENVIRONMENT_PATTERN)] = None,
        since: Annotated[str | None, Query(max_length=64)] = None,
        until: Annotated[str | None, Query(max_length=64)] = None,
        after: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    ) -> dict[str, Any]:
        """A project's incidents, oldest first by the server's opening time (then id)."""
        items = list_incidents(
            request.app.state.engine,
            project,
            environment,
            _instant("since", since),
            _instant("until", until),
            _after(after),
            limit + 1,
        )
        more = len(items) > limit
        items = items[:limit]
        return {
            "items": [incident_document(item) for item in items],
            "next_after": f"{utc_text(items[-1].opened_at)},{items[-1].id}" if more else None,
        }

    return routes
