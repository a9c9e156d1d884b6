"""A pipeline's parts on the store server: their table, queries, and the `/api/v1/parts` routes.

A part is one job's evidence, encoded by `gatekeeper.parts`; the server keeps the bytes as they came,
once per (project, pipeline, name, sha256), so an upload repeated after a lost answer stores nothing
new, and a retried job's different bytes are a second attempt.  Attempts are listed in the order this
server received them (`received_at`, then insertion), never by anything the client claims.

Project paths hold slashes and part names hold slashes and spaces (`test 2/3`), so the three are query
parameters, not path segments:

- `PUT  /api/v1/parts?project=P&pipeline=X&name=N` (body: the encoded part) → 201, or 200 when
  stored already; an upload token allowed for the project.
- `GET  /api/v1/parts?project=P&pipeline=X` → every attempt's metadata, oldest first.
- `GET  /api/v1/parts/body?project=P&pipeline=X&name=N&sha256=H` → the stored bytes.

Reading needs a read token, or an upload token allowed for the project: the job that decides a
pipeline reads the parts its siblings uploaded with the same token.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Column, Engine, Index, Integer, LargeBinary, String, Table, UniqueConstraint, func, select

from gatekeeper.errors import GatekeeperError
from gatekeeper.server.auth import Scope, Token
from gatekeeper.server.db import _insert, _one_writer, metadata
from gatekeeper.store.codec import utc_text
from gatekeeper.store.parts import (
    MAX_PART_ATTEMPTS,
    MAX_PART_BYTES,
    MAX_PART_KEY_BYTES,
    StoredPart,
    full_pipeline_problem,
    part_key_problem,
)

parts = Table(
    "parts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(MAX_PART_KEY_BYTES), nullable=False),
    Column("pipeline", String(MAX_PART_KEY_BYTES), nullable=False),
    Column("name", String(MAX_PART_KEY_BYTES), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("received_at", String(32), nullable=False),
    Column("body", LargeBinary, nullable=False),
    UniqueConstraint("project", "pipeline", "name", "sha256", name="parts_identity"),
    Index("parts_pipeline_received", "project", "pipeline", "received_at", "id"),  # migration 0005
)

API = "/api/v1"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = re.compile(SHA256_PATTERN)
_METADATA = (
    parts.c.project,
    parts.c.pipeline,
    parts.c.name,
    parts.c.sha256,
    parts.c.size,
    parts.c.received_at,
)


class PipelineFull(ValueError):
    """A new attempt of a part of a pipeline that holds MAX_PART_ATTEMPTS already (409)."""


# -- queries -----------------------------------------------------------------------------------------


def put_part(
    engine: Engine, project: str, pipeline: str, name: str, body: bytes, received: datetime | None = None
) -> tuple[bool, StoredPart]:
    """Store a part once, received now (or at `received`): (True, it) when new, (False, the one stored
    before, with its first received_at) when this exact part is there already.  Race-free: the INSERT
    wins or does nothing, as verdicts' does."""
    row: dict[str, Any] = {
        "project": project,
        "pipeline": pipeline,
        "name": name,
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "received_at": utc_text(received or datetime.now(timezone.utc)),
        "body": body,
    }
    this = select(parts.c.received_at).where(
        parts.c.project == project, parts.c.pipeline == pipeline, parts.c.name == name, parts.c.sha256 == row["sha256"]
    )
    held = select(func.count()).select_from(parts).where(parts.c.project == project, parts.c.pipeline == pipeline)
    with _one_writer(engine), engine.begin() as connection:
        received_at = connection.execute(this).scalar()
        if received_at is None:
            # Counted before inserting: uploads racing past the bound overshoot it by their number at most.
            if connection.execute(held).scalar_one() >= MAX_PART_ATTEMPTS:
                raise PipelineFull(full_pipeline_problem(pipeline))
            inserted = connection.execute(_insert(connection, parts).returning(parts.c.id), row).first()
            if inserted is not None:
                return True, StoredPart(**row)
            received_at = connection.execute(this).scalar_one()  # stored by a racing upload meanwhile
    row["received_at"] = received_at
    return False, StoredPart(**row)


def list_parts(engine: Engine, project: str, pipeline: str) -> list[StoredPart]:
    """Every attempt of every part of the pipeline, oldest first, with its body."""
    query = (
        select(*_METADATA, parts.c.body)
        .where(parts.c.project == project, parts.c.pipeline == pipeline)
        .order_by(parts.c.received_at, parts.c.id)
    )
    with engine.connect() as connection:
        return [_stored(row, bytes(row.body)) for row in connection.execute(query)]


def list_part_metadata(engine: Engine, project: str, pipeline: str) -> list[StoredPart]:
    """`list_parts` without reading the bodies (each `body` is b"")."""
    query = (
        select(*_METADATA)
        .where(parts.c.project == project, parts.c.pipeline == pipeline)
        .order_by(parts.c.received_at, parts.c.id)
    )
    with engine.connect() as connection:
        return [_stored(row, b"") for row in connection.execute(query)]


def get_part_body(engine: Engine, project: str, pipeline: str, name: str, sha256: str) -> bytes | None:
    query = select(parts.c.body).where(
        parts.c.project == project, parts.c.pipeline == pipeline, parts.c.name == name, parts.c.sha256 == sha256
    )
    with engine.connect() as connection:
        body = connection.execute(query).scalar()
    return None if body is None else bytes(body)


def _stored(row: Any, body: bytes) -> StoredPart:
    return StoredPart(
        project=row.project,
        pipeline=row.pipeline,
        name=row.name,
        sha256=row.sha256,
        size=int(row.size),
        received_at=row.received_at,
        body=body,
    )


def part_problem(body: bytes, project: str, pipeline: str, name: str) -> str | None:
    """Why this body is not a part of this pipeline under this name (None when it is): it must decode
    (`gatekeeper.parts.decode_part`, bounded and validated) and say the same project, pipeline and
    name as the request, so a token allowed for one project cannot file another's evidence there."""
    from gatekeeper.parts import decode_part

    try:
        part = decode_part(body, "body")
    except GatekeeperError as error:
        return str(error)
    for field, expected in (("project", project), ("pipeline", pipeline), ("name", name)):
        claimed = getattr(part, field, expected)
        if claimed != expected:
            return f"body: the part's {field} is {str(claimed)[:300]!r}, not {expected!r} as the request says"
    return None


# -- API -------------------------------------------------------------------------------------------


class PartMetadata(BaseModel):
    project: str
    pipeline: str
    name: str
    sha256: str
    size: int
    received_at: str  # this server's clock: what attempts are ordered by


class PartList(BaseModel):
    items: list[PartMetadata]


class PartStored(PartMetadata):
    created: bool


Authenticate = Callable[[Request, str | None], Awaitable[Token | None]]
Key = Annotated[str, Query(min_length=1, max_length=MAX_PART_KEY_BYTES)]

_UNAUTHENTICATED = "missing, invalid, expired or revoked token"


def _metadata(part: StoredPart) -> dict[str, Any]:
    document = asdict(part)
    del document["body"]
    return document


def _check_keys(**keys: str) -> None:
    """422 naming the first query parameter that no store takes (control characters, too long…)."""
    for field, value in keys.items():
        problem = part_key_problem(field, value)
        if problem is not None:
            raise HTTPException(422, problem)


def router(
    authenticate: Authenticate, bearer: Callable[[Request], str | None], max_part: int = MAX_PART_BYTES
) -> APIRouter:
    """The part routes.  `authenticate(request, presented)` is the app's token check (429 for a client
    that presented too many wrong ones), `bearer(request)` the presented token; `max_part` bounds a body."""
    routes = APIRouter(prefix=f"{API}/parts", tags=["parts"])

    async def token_for(request: Request, project: str, *, write: bool) -> Token:
        """401 without a live token; 403 when it may not write (or read) this project's parts."""
        token = await authenticate(request, bearer(request))
        if token is None:
            raise HTTPException(401, _UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
        if write and not token.allows(Scope.UPLOAD):
            raise HTTPException(403, f"this token's scope is {token.scope.value}, not {Scope.UPLOAD.value}")
        if not write and not (token.allows(Scope.READ) or token.allows(Scope.UPLOAD)):
            raise HTTPException(403, f"this token's scope is {token.scope.value}, not read or upload")
        if (write or not token.allows(Scope.READ)) and not token.allows_project(project):
            verb = "upload" if write else "read"
            raise HTTPException(403, f"this token may not {verb} parts of project {project!r}")
        return token

    documented: dict[int | str, dict[str, Any]] = {
        401: {"description": "Missing, invalid, expired or revoked token."},
        403: {"description": "The token's scope or project patterns do not allow this project's parts."},
        422: {"description": "A bad project, pipeline, name or sha256 (empty, too long, control characters)."},
    }

    @routes.put(
        "",
        status_code=201,
        response_model=PartStored,
        responses={
            200: {"model": PartStored, "description": "This exact part (name and bytes) was stored already."},
            **documented,
            409: {"description": "A new attempt, and the pipeline holds the most attempts a store keeps."},
            413: {"description": "Body over the part size limit."},
            422: {"description": "Bad query parameters, or a body that is not a part of this pipeline."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "The part as `gatekeeper.parts.encode_part` writes it.",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def put(request: Request, project: Key, pipeline: Key, name: Key) -> Response:
        """Store one encoded part of a pipeline: 201 the first time, 200 for the same bytes again."""
        await token_for(request, project, write=True)
        _check_keys(project=project, pipeline=pipeline, name=name)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_part:
            raise HTTPException(413, f"body over {max_part} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_part:
                raise HTTPException(413, f"body over {max_part} bytes")
            chunks.append(chunk)
        body = b"".join(chunks)
        if not body:
            raise HTTPException(422, "body is empty: give the encoded part")
        problem = await run_in_threadpool(part_problem, body, project, pipeline, name)
        if problem is not None:
            raise HTTPException(422, problem)
        engine: Engine = request.app.state.engine
        try:
            created, stored = await run_in_threadpool(put_part, engine, project, pipeline, name, body)
        except PipelineFull as error:
            raise HTTPException(409, str(error)) from None
        return JSONResponse(_metadata(stored) | {"created": created}, status_code=201 if created else 200)

    @routes.get("", response_model=PartList, responses=documented)
    async def list_(request: Request, project: Key, pipeline: Key) -> dict[str, Any]:
        """Every attempt of every part of the pipeline (metadata), oldest first as this server received them."""
        await token_for(request, project, write=False)
        _check_keys(project=project, pipeline=pipeline)
        engine: Engine = request.app.state.engine
        found = await run_in_threadpool(list_part_metadata, engine, project, pipeline)
        return {"items": [_metadata(part) for part in found]}

    @routes.get(
        "/body",
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            **documented,
            404: {"description": "No such part."},
        },
    )
    async def body(
        request: Request,
        project: Key,
        pipeline: Key,
        name: Key,
        sha256: Annotated[str, Query(pattern=SHA256_PATTERN, description="lower-case hex, from the list")],
    ) -> Response:
        """One stored attempt's bytes, as uploaded."""
        await token_for(request, project, write=False)
        _check_keys(project=project, pipeline=pipeline, name=name)
        if not _SHA256.fullmatch(sha256):  # the pattern's `$` alone lets a trailing newline through
            raise HTTPException(422, f"sha256 must match {SHA256_PATTERN}")
        engine: Engine = request.app.state.engine
        found = await run_in_threadpool(get_part_body, engine, project, pipeline, name, sha256)
        if found is None:
            raise HTTPException(404, f"no part {name!r} with sha256 {sha256} in pipeline {pipeline!r} of {project!r}")
        return Response(found, media_type="application/octet-stream")

    return routes
