"""The HTTP API (`/api/v1`): upload verdicts idempotently by id, query them, and operate the server.

Handlers are thin: auth and validation here, SQL in `db`, figures in `observability`.  Nothing is
written unless every check passed, so any non-2xx answer leaves the database as it was.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from gatekeeper import __version__
from gatekeeper.server import DEFAULT_MAX_BODY, db, migrations
from gatekeeper.server.auth import DEFAULT_TOKEN_CACHE_SECONDS, Scope, Token, TokenCache, verify
from gatekeeper.server.observability import RequestObserver, ServerMetrics, configure_logging
from gatekeeper.store.sqlite import _utc_text

API = "/api/v1"
ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
#: Filter values are free text, but never NUL (PostgreSQL text cannot hold it) and never huge.
TEXT = {"max_length": 1000, "pattern": r"^[^\x00]*$"}


class Summary(BaseModel):
    id: str
    created_at: str
    status: str
    project: str | None
    branch: str | None
    commit: str | None
    pipeline: str | None
    policy_name: str | None
    level_achieved: int | None


class Page(BaseModel):
    items: list[Summary]
    next_cursor: str | None


class Latest(BaseModel):
    items: list[Summary]


class Point(BaseModel):
    verdict_id: str
    created_at: str
    value: float


class History(BaseModel):
    items: list[Point]


class Stored(BaseModel):
    id: str
    created: bool


def _verdict_schema() -> Any:
    from gatekeeper.policy import resource_path

    return json.loads(resource_path("schemas", "verdict.schema.json").read_text(encoding="utf-8"))


def _schema_validator(schema: Any) -> Any:
    """The `jsonschema` validator: the reference, and what explains a rejection (path and message)."""
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(schema, format_checker=FormatChecker())


def _fast_validator(schema: Any) -> Any:
    """A compiled `jsonschema_rs` validator (about 35x faster on a verdict) for the yes/no answer on every
    upload, or None when it is not installed (then `jsonschema` decides alone)."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _instant(name: str, value: str | None) -> str | None:
    """A filter time (ISO-8601; a bare date or time is UTC) as stored text, or 422."""
    if value is None:
        return None
    try:
        return _utc_text(value, naive_is_utc=True)
    except ValueError as error:
        raise HTTPException(422, f"{name}: {error}") from None


_bearer = HTTPBearer(auto_error=False, description="`gk_<id>_<secret>` from `gatekeeper tokens create`")


def _requires(scope: Scope) -> Callable[..., Awaitable[Token]]:
    """A dependency answering 401 (no live token) or 403 (wrong scope) before a handler runs.

    Async, so that a token found in the cache costs no threadpool hop; a miss asks the database in
    the threadpool."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Token:
        token = None
        if credentials is not None:
            cache: TokenCache = request.app.state.token_cache
            presented = credentials.credentials
            token = cache.get(presented)
            if token is None:
                engine: Engine = request.app.state.engine
                token = await run_in_threadpool(verify, engine, presented)
                if token is not None:
                    cache.put(presented, token)
        if token is None:
            raise HTTPException(
                401, "missing, invalid, expired or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        request.state.token_id = token.id  # for the access log: the id, never the secret
        if not token.allows(scope):
            raise HTTPException(403, f"this token's scope is {token.scope.value}, not {scope.value}")
        return token

    return check


Reader = Annotated[Token, Depends(_requires(Scope.READ))]
Uploader = Annotated[Token, Depends(_requires(Scope.UPLOAD))]


def create_app(
    engine: Engine, *, max_body: int = DEFAULT_MAX_BODY, token_cache_seconds: float = DEFAULT_TOKEN_CACHE_SECONDS
) -> FastAPI:
    """The app on an engine whose database is already migrated (`gatekeeper serve` does that first).

    `token_cache_seconds`: how long a successful token check is reused without asking the database
    (0: never), so a revocation takes effect within that time."""
    metrics = ServerMetrics()
    schema = _verdict_schema()
    validator = _schema_validator(schema)
    fast = _fast_validator(schema)
    head = migrations.head()
    lock = threading.Lock()
    configure_logging()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Database calls run in the threadpool: no more threads than pooled connections, so none waits
        # for a connection or makes the pool open one per request.
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = db.POOL_SIZE
        # The gauge of latest values is a state: rebuild it from the database, not from zero.
        rows = await run_in_threadpool(lambda: list(db.latest_metric_values(engine)))
        with lock:
            metrics.fill(rows)
        yield
        engine.dispose()

    app = FastAPI(
        title="gatekeeper store",
        version=__version__,
        description="Verdict upload (idempotent by id) and query for the gatekeeper quality gate.",
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.token_cache = TokenCache(token_cache_seconds)
    app.add_middleware(RequestObserver, metrics=metrics)

    @app.exception_handler(DBAPIError)
    async def database_unavailable(_request: Request, error: DBAPIError) -> JSONResponse:
        """A database that is down or busy is the client's cue to retry, not a bug to hide."""
        return JSONResponse({"detail": "database unavailable, retry later"}, status_code=503,
                            headers={"Retry-After": "1"})

    # -- upload ------------------------------------------------------------------------------------

    @app.put(
        f"{API}/verdicts/{{verdict_id}}",
        status_code=201,
        response_model=Stored,
        responses={
            200: {"model": Stored, "description": "Already stored with the same body; stored once."},
            401: {"description": "Missing, invalid, expired or revoked token."},
            403: {"description": "Scope is not upload/admin, or the project is outside the token's patterns."},
            409: {"description": "A different verdict is stored under this id."},
            413: {"description": "Body over the size limit."},
            422: {"description": "Not JSON, fails schemas/verdict.schema.json, or body id differs from path id."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A verdict as `gatekeeper check --format json` writes it (schemas/verdict.schema.json).",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    async def put_verdict(
        request: Request,
        token: Uploader,
        verdict_id: Annotated[str, Path(pattern=ID_PATTERN)],
    ) -> Response:
        """Store a verdict under its id: 201 the first time, 200 for the same body again, 409 for another."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            raise HTTPException(413, f"body over {max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                raise HTTPException(413, f"body over {max_body} bytes")
            chunks.append(chunk)
        try:
            verdict = json.loads(b"".join(chunks), parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            raise HTTPException(422, f"body is not JSON: {error}") from None
        problem = _schema_problem(validator, verdict, fast)
        if problem is not None:
            return JSONResponse({"detail": f"verdict does not match the schema at {problem[0]}: {problem[1]}",
                                 "path": problem[0]}, status_code=422)
        if verdict["id"] != verdict_id:
            return JSONResponse({"detail": f"$.id {verdict['id']!r} differs from the id in the path {verdict_id!r}",
                                 "path": "$.id"}, status_code=422)
        project = verdict["context"]["project"]
        if not token.allows_project(project):
            raise HTTPException(403, f"this token may not upload verdicts of project {project!r}")
        try:
            outcome, row = await run_in_threadpool(db.add_verdict, engine, verdict)
        except db.VerdictRejected as error:
            return JSONResponse({"detail": str(error), "path": str(error).split(":")[0]}, status_code=422)
        if outcome == "conflict":
            raise HTTPException(409, f"a different verdict with id {verdict_id!r} is already stored")
        if outcome == "created":
            with lock:
                metrics.stored(verdict, row["created_at"])
        created = outcome == "created"
        return JSONResponse({"id": verdict_id, "created": created}, status_code=201 if created else 200)

    # -- queries -----------------------------------------------------------------------------------

    @app.get(f"{API}/verdicts", response_model=Page)
    def list_verdicts(
        _token: Reader,
        project: Annotated[str | None, Query(**TEXT)] = None,
        branch: Annotated[str | None, Query(**TEXT)] = None,
        commit: Annotated[str | None, Query(**TEXT)] = None,
        pipeline: Annotated[str | None, Query(**TEXT)] = None,
        status: Literal["pass", "warn", "fail", "error"] | None = None,
        since: Annotated[str | None, Query(description="ISO-8601, inclusive; a bare date is UTC midnight")] = None,
        until: Annotated[str | None, Query(description="ISO-8601, exclusive")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:
        """Verdict summaries, newest first; follow `next_cursor` for the next page."""
        filters = db.Filters(project=project, branch=branch, commit=commit, pipeline=pipeline, status=status,
                             since=_instant("since", since), until=_instant("until", until))
        try:
            after = None if cursor is None else db.decode_cursor(cursor)
        except ValueError as error:
            raise HTTPException(422, f"cursor: {error}") from None
        items, last = db.list_verdicts(engine, filters, limit, after)
        return {
            "items": [dataclasses.asdict(item) for item in items],
            "next_cursor": None if last is None else db.encode_cursor(*last),
        }

    @app.get(f"{API}/verdicts/{{verdict_id}}", responses={404: {"description": "No verdict with this id."}})
    def get_verdict(_token: Reader, verdict_id: Annotated[str, Path(pattern=ID_PATTERN)]) -> Response:
        """The stored verdict, as uploaded."""
        body = db.get_body(engine, verdict_id)
        if body is None:
            raise HTTPException(404, f"no verdict with id {verdict_id!r}")
        return Response(body, media_type="application/json")

    @app.get(f"{API}/latest", response_model=Latest)
    def latest(
        _token: Reader,
        project: Annotated[str | None, Query(**TEXT)] = None,
        branch: Annotated[str | None, Query(**TEXT)] = None,
    ) -> dict[str, Any]:
        """The latest verdict summary per (project, branch)."""
        items = db.latest(engine, db.Filters(project=project, branch=branch))
        return {"items": [dataclasses.asdict(item) for item in items]}

    @app.get(f"{API}/metrics/history", response_model=History)
    def metric_history(
        _token: Reader,
        metric: Annotated[str, Query(min_length=1, **TEXT)],
        project: Annotated[str | None, Query(**TEXT)] = None,
        branch: Annotated[str | None, Query(**TEXT)] = None,
        since: Annotated[str | None, Query(description="ISO-8601, inclusive")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """One metric's values over time, oldest first (the newest `limit` of them)."""
        filters = db.Filters(project=project, branch=branch, since=_instant("since", since))
        return {"items": db.metric_history(engine, filters, metric, limit)}

    # -- operations --------------------------------------------------------------------------------

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up (it answers without touching the database)."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "Database unreachable or not migrated."}})
    def readyz() -> JSONResponse:
        """The database answers and is at the schema this server expects."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            revision = migrations.current(engine)
        except DBAPIError:
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        if revision != head:
            return JSONResponse({"status": f"database at revision {revision}, expected {head}"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", response_class=Response)
    def prometheus() -> Response:
        """Prometheus text exposition."""
        with lock:
            payload = generate_latest(metrics.registry)
        return Response(payload, media_type=CONTENT_TYPE_LATEST)

    return app


def _schema_problem(validator: Any, document: Any, fast: Any = None) -> tuple[str, str] | None:
    """The most relevant schema error as (JSON path, message), or None when the document is valid.

    `fast` (jsonschema_rs) answers yes/no; only a document it refuses (or cannot take, e.g. an integer
    beyond 64 bits) goes through `jsonschema`, which words the error and has the last word."""
    if fast is not None:
        try:
            if fast.is_valid(document):
                return None
        except Exception:  # anything it cannot judge, jsonschema judges
            pass
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(document))
    if error is None:
        return None
    message = error.message if len(error.message) <= 300 else error.message[:300] + "…"
    return error.json_path, message
