"""Named releases on the store server: their table, queries, and the `/api/v1/releases` routes.

The decision itself is `gatekeeper.release.assess`, shared with the CLI and the pages; this module
only finds each member's latest verdict in the server's database.  The pages call `get_release`,
`list_releases` and `release_readiness` directly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, Engine, Index, Integer, Select, String, Table, Text, func, select, update

from gatekeeper.release import (
    NAME_PATTERN,
    AmbiguousCommit,
    InvalidRelease,
    Member,
    Readiness,
    Release,
    assess,
    commit_prefix,
    release_from_document,
)
from gatekeeper.server import DEFAULT_MAX_BODY
from gatekeeper.server.auth import Scope, Token
from gatekeeper.server.db import NEWEST_FIRST, commit_prefix_clauses, metadata, verdicts
from gatekeeper.store.codec import utc_text

releases = Table(
    "releases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("level", Integer),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("body", Text, nullable=False),  # the release document (Release.to_document) as JSON
    Index("releases_created_name", "created_at", "name"),
)

API = "/api/v1"


# -- queries -----------------------------------------------------------------------------------------


def _release(body: str) -> Release:
    return release_from_document(json.loads(body))


def put_release(engine: Engine, release: Release) -> bool:
    """Define or redefine a release; True when it was new.  Race-free: the INSERT wins or does nothing,
    and a redefinition keeps the creation time, so lists keep their order."""
    from gatekeeper.server.db import _insert

    body = json.dumps(release.to_document(), separators=(",", ":"), ensure_ascii=False)
    now = utc_text(datetime.now(timezone.utc))
    row = {"name": release.name, "level": release.level, "created_at": now, "updated_at": now, "body": body}
    with engine.begin() as connection:
        inserted = connection.execute(_insert(engine, releases).returning(releases.c.name), row).first()
        if inserted is not None:
            return True
        connection.execute(
            update(releases)
            .where(releases.c.name == release.name, releases.c.body != body)
            .values(level=release.level, updated_at=now, body=body)
        )
    return False


def get_release(engine: Engine, name: str) -> Release | None:
    with engine.connect() as connection:
        body = connection.execute(select(releases.c.body).where(releases.c.name == name)).scalar()
    return None if body is None else _release(str(body))


def list_releases(engine: Engine, limit: int, offset: int) -> list[Release]:
    """One page of releases, the most recently defined first."""
    query = (
        select(releases.c.body)
        .order_by(releases.c.created_at.desc(), releases.c.name.desc())
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as connection:
        return [_release(str(body)) for body in connection.execute(query).scalars()]


def count_releases(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(releases)).scalar_one())


def latest_query(member: Member) -> Select[str]:
    """The body of the member's newest verdict: of its project at its commit, or of its pipeline run.
    Newest as received (`db.NEWEST_FIRST`), so a verdict claiming a later `created_at` cannot shadow a
    real one stored after it; one step down the `verdicts_project_commit_received` (or
    `…_pipeline_received`) index."""
    column = verdicts.c.commit if member.commit is not None else verdicts.c.pipeline
    value = member.commit if member.commit is not None else member.pipeline
    return (
        select(verdicts.c.body)
        .where(verdicts.c.project == member.project, column == value)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    )


def abbreviated_query(project: str, prefix: str, *, besides: str | None = None) -> Select[str, str]:
    """The newest verdict (body and commit) of `project` at a commit starting with `prefix` (other than
    `besides`): a range on the `verdicts_project_commit_received` index, then the exact test."""
    commit = verdicts.c.commit
    query = select(verdicts.c.body, commit).where(verdicts.c.project == project, *commit_prefix_clauses(prefix))
    if besides is not None:
        query = query.where(commit != besides)
    return query.order_by(*NEWEST_FIRST).limit(1)


def latest_verdict_for(engine: Engine, member: Member) -> dict[str, Any] | None:
    """The member's newest verdict (`latest_query`), or None when it has none.  A member naming a commit
    by 7+ hex digits finds the verdicts of the one commit they start (checks store the full id), and
    raises AmbiguousCommit when two commits of the project start with them."""
    with engine.connect() as connection:
        body = connection.execute(latest_query(member)).scalar()
        prefix = None if body is not None or member.commit is None else commit_prefix(member.commit)
        if prefix is not None:
            found = connection.execute(abbreviated_query(member.project, prefix)).first()
            if found is not None:
                body, commit = found
                another = connection.execute(abbreviated_query(member.project, prefix, besides=commit)).first()
                if another is not None:
                    raise AmbiguousCommit(member.project, prefix, sorted((commit, another[1])))
    if body is None:
        return None
    document = json.loads(body)
    return document if isinstance(document, dict) else None


def release_readiness(engine: Engine, release: Release) -> Readiness:
    """Whether the release is ready, from each member's latest verdict in this database."""
    return assess(release, lambda member: latest_verdict_for(engine, member))


# -- API -------------------------------------------------------------------------------------------


class ReleaseMember(BaseModel):
    project: str
    commit: str | None = None
    pipeline: str | None = None


class ReleaseDocument(BaseModel):
    name: str
    level: int | None
    members: list[ReleaseMember]


class ReleasePage(BaseModel):
    items: list[ReleaseDocument]
    total: int
    next_offset: int | None


class Defined(BaseModel):
    name: str
    created: bool


class MemberReadinessDocument(BaseModel):
    project: str
    commit: str | None = None
    pipeline: str | None = None
    state: str
    verdict_id: str | None
    status: str | None
    level: int | None
    blockers: list[str]


class ReadinessDocument(BaseModel):
    release: str
    level: int | None
    ready: bool
    blockers: list[str]
    members: list[MemberReadinessDocument]


#: The body PUT takes, for the OpenAPI document (the handler checks it with `release_problems`).
_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["members"],
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN, "description": "the name in the path, if given"},
        "level": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "description": {"type": "string"},
        "members": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["project"],
                "properties": {
                    "project": {"type": "string"},
                    "commit": {"type": "string"},
                    "pipeline": {"type": ["string", "integer"]},
                },
            },
        },
    },
}

Requires = Callable[[Scope], Callable[..., Awaitable[Token]]]
ReleaseName = Annotated[str, Path(pattern=NAME_PATTERN, description="The release's name")]


def router(requires: Requires) -> APIRouter:
    """The release routes; `requires(scope)` is the app's token dependency (401/403 before a handler)."""
    routes = APIRouter(prefix=f"{API}/releases", tags=["releases"])
    # As route dependencies, not annotations: with postponed annotations FastAPI resolves a parameter's
    # type in the module's globals, where aliases local to this function do not exist.
    reader = [Depends(requires(Scope.READ))]
    admin = [Depends(requires(Scope.ADMIN))]

    @routes.put(
        "/{name}",
        status_code=201,
        response_model=Defined,
        dependencies=admin,
        responses={
            200: {"model": Defined, "description": "Already defined: now as given (unchanged if the same)."},
            401: {"description": "Missing, invalid, expired or revoked token."},
            403: {"description": "The token's scope is not admin."},
            413: {"description": "Body over the size limit."},
            422: {"description": "Not JSON, or not a release (every problem listed)."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A release: name (optional, = the path's), level (1-5 or null), members "
                "[{project, commit} or {project, pipeline}].",
                "content": {"application/json": {"schema": _BODY_SCHEMA}},
            }
        },
    )
    async def put(request: Request, name: ReleaseName) -> Response:
        """Define a release under this name: 201 the first time, 200 after (idempotent; a new body replaces)."""
        from fastapi.concurrency import run_in_threadpool

        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > DEFAULT_MAX_BODY:
                raise HTTPException(413, f"body over {DEFAULT_MAX_BODY} bytes")
            chunks.append(chunk)
        from gatekeeper.server.app import Unstorable, parse_body

        try:
            document = parse_body(b"".join(chunks))
        except Unstorable as error:  # a lone surrogate in an unknown key's name made the 422 itself a 500
            raise HTTPException(422, f"body refused: {error}") from None
        except (ValueError, RecursionError) as error:
            raise HTTPException(422, f"body is not JSON: {error}") from None
        try:
            release = release_from_document(document, name=name)
        except InvalidRelease as error:
            return JSONResponse({"detail": str(error)}, status_code=422)
        if any("\x00" in text for member in release.members for text in member.to_document().values()):
            return JSONResponse({"detail": "members: must not contain NUL characters"}, status_code=422)
        engine: Engine = request.app.state.engine
        created = await run_in_threadpool(put_release, engine, release)
        return JSONResponse({"name": name, "created": created}, status_code=201 if created else 200)

    @routes.get("", response_model=ReleasePage, dependencies=reader)
    def list_(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    ) -> dict[str, Any]:
        """Releases, the most recently defined first; `next_offset` is where the next page starts."""
        engine: Engine = request.app.state.engine
        items = list_releases(engine, limit, offset)
        total = count_releases(engine)
        more = offset + len(items) < total and len(items) == limit
        return {
            "items": [item.to_document() for item in items],
            "total": total,
            "next_offset": offset + limit if more else None,
        }

    @routes.get(
        "/{name}",
        response_model=ReleaseDocument,
        dependencies=reader,
        responses={404: {"description": "No such release."}},
    )
    def get(request: Request, name: ReleaseName) -> dict[str, Any]:
        """The release as defined."""
        release = get_release(request.app.state.engine, name)
        if release is None:
            raise HTTPException(404, f"no release named {name!r}")
        return release.to_document()

    @routes.get(
        "/{name}/readiness",
        response_model=ReadinessDocument,
        dependencies=reader,
        responses={404: {"description": "No such release."}},
    )
    def readiness(request: Request, name: ReleaseName) -> dict[str, Any]:
        """Whether the release is ready: each member's state from its latest verdict, and what blocks it."""
        engine: Engine = request.app.state.engine
        release = get_release(engine, name)
        if release is None:
            raise HTTPException(404, f"no release named {name!r}")
        return release_readiness(engine, release).to_document()

    return routes
