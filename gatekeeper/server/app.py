"""The HTTP API (`/api/v1`): upload verdicts idempotently by id, query them, and operate the server.

Handlers are thin: auth and validation here, SQL in `db`, figures in `observability`.  Nothing is
written unless every check passed, so any non-2xx answer leaves the database as it was.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.routing import Match, Route
from starlette.types import Scope as ASGIScope

from gatekeeper import __version__
from gatekeeper.flaky import TestRun
from gatekeeper.model import Decision
from gatekeeper.server import DEFAULT_MAX_BODY, db, migrations
from gatekeeper.server.auth import (
    DEFAULT_TOKEN_CACHE_SECONDS,
    DEFAULT_TOKEN_FAILURE_WINDOW,
    DEFAULT_TOKEN_FAILURES,
    Authenticator,
    FailureThrottle,
    Scope,
    Throttled,
    Token,
    TokenCache,
)
from gatekeeper.server.observability import RequestObserver, ServerMetrics, configure_logging, drain_logs
from gatekeeper.store.codec import utc_text

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - a server extra; the standard library does the same, slower
    _orjson = None  # type: ignore[assignment]

API = "/api/v1"
UPLOAD_PATH = f"{API}/verdicts/{{verdict_id}}"
ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
_ID = re.compile(ID_PATTERN)
#: A commit as git abbreviates it, short of a full id (checks store the full id, lower case).
COMMIT_PREFIX_PATTERN = r"^[0-9A-Fa-f]{7,63}$"
#: Filter values are free text, but never NUL (PostgreSQL text cannot hold it) and never huge.
TEXT = {"max_length": 1000, "pattern": r"^[^\x00]*$"}


class Summary(BaseModel):
    id: str
    created_at: str  # the client's claim, in the window `db.claimed_time` allows
    status: str
    project: str | None
    branch: str | None
    commit: str | None
    pipeline: str | None
    policy_name: str | None
    level_achieved: int | None
    received_at: str  # when this server stored it: what lists, "latest" and releases order by


class Page(BaseModel):
    items: list[Summary]
    next_cursor: str | None


class Latest(BaseModel):
    items: list[Summary]


class Point(BaseModel):
    verdict_id: str
    created_at: str
    received_at: str
    value: float


class History(BaseModel):
    items: list[Point]


class Stored(BaseModel):
    id: str
    created: bool


class TestRunItem(BaseModel):
    """What one verdict says of its tests, as flaky history needs it (`gatekeeper.flaky.TestRun`)."""

    verdict_id: str
    commit: str | None
    failed: list[str]  # test ids (`classname.name`) that failed or errored, quarantined ones included
    flaky: list[str]  # test ids that failed, then passed on re-run, within the run
    complete: bool  # it names every failure: a test it does not name passed (or did not run)


class TestRuns(BaseModel):
    items: list[TestRunItem]


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
        return utc_text(value, naive_is_utc=True)
    except ValueError as error:
        raise HTTPException(422, f"{name}: {error}") from None


_bearer = HTTPBearer(auto_error=False, description="`gk_<id>_<secret>` from `gatekeeper tokens create`")
_UNAUTHENTICATED = "missing, invalid, expired or revoked token"


async def _authenticate(request: Request, presented: str | None) -> Token | None:
    """The live token presented, or None; 429 for a client that presented too many wrong ones.  Async,
    so that a token found in the cache costs no threadpool hop; a miss asks the database in the threadpool."""
    if not presented:
        return None
    authenticator: Authenticator = request.app.state.authenticator
    try:
        token = await authenticator.check(presented, request.client.host if request.client else "")
    except Throttled as error:
        raise HTTPException(429, str(error), headers={"Retry-After": str(error.retry_after)}) from None
    if token is not None:
        request.state.token_id = token.id  # for the access log: the id, never the secret
    return token


def _requires(scope: Scope) -> Callable[..., Awaitable[Token]]:
    """A dependency answering 401 (no live token) or 403 (wrong scope) before a handler runs."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Token:
        token = await _authenticate(request, None if credentials is None else credentials.credentials)
        if token is None:
            raise HTTPException(401, _UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
        if not token.allows(scope):
            raise HTTPException(403, f"this token's scope is {token.scope.value}, not {scope.value}")
        return token

    return check


def _bearer_text(request: Request) -> str | None:
    """The credentials of an `Authorization: Bearer …` header, read as `HTTPBearer` reads them."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    return credentials if scheme.lower() == "bearer" and credentials else None


def _problem(status: int, detail: str, path: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """An error answer in the shape FastAPI gives (`detail`), with the JSON path at fault when there is one."""
    body: dict[str, Any] = {"detail": detail} if path is None else {"detail": detail, "path": path}
    return Response(_dumps(body), status_code=status, media_type="application/json", headers=headers)


class Unstorable(ValueError):
    """JSON that no store can take whole: too deep, or not text."""


def parse_body(body: bytes) -> Any:
    """Parse a request body: orjson when installed (several times faster), and the standard library
    for whatever orjson refuses (integers beyond 64 bits, UTF-16), so the answer for any body is the
    one `json.loads` gives; NaN and Infinity are refused by both.  Unstorable for nesting deeper than
    MAX_DEPTH (Python's recursion limit would fail later, in a 500) and for a lone surrogate (not
    Unicode: neither database can store it)."""
    from gatekeeper.parsers import json_depth_problem

    encoding = json.detect_encoding(body)
    # The guard reads UTF-8: UTF-16's bytes hide or fake quotes and brackets (U+2200 holds 0x22).
    utf8 = body if encoding == "utf-8" else body.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    problem = json_depth_problem(utf8)
    if problem is not None:
        raise Unstorable(problem)
    if _orjson is not None:
        try:
            return _orjson.loads(body)  # UTF-8 without lone surrogates only
        except _orjson.JSONDecodeError:
            pass
    document = json.loads(body, parse_constant=_reject_constant)
    try:
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise Unstorable("a string holds a lone surrogate (U+D800-U+DFFF), which is not text") from None
    return document


def _dumps(document: Any) -> bytes:
    if _orjson is not None:
        return bytes(_orjson.dumps(document))
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class _NamedRoute(Route):
    """A plain Starlette route that puts itself in the scope, as FastAPI's routes do, so the request
    histogram and the access log label it by its template rather than as unmatched."""

    def matches(self, scope: ASGIScope) -> tuple[Match, ASGIScope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def _upload_operation() -> dict[str, Any]:
    """The OpenAPI operation of the upload, which is a plain Starlette route (FastAPI's parameter and
    dependency machinery cost more than the rest of the request on this hot path)."""
    stored = {"application/json": {"schema": {"$ref": "#/components/schemas/Stored"}}}
    return {
        "summary": "Put Verdict",
        "description": "Store a verdict under its id: 201 the first time, 200 for the same body again, "
        "409 for another.",
        "operationId": "put_verdict",
        "security": [{"HTTPBearer": []}],
        "parameters": [
            {
                "name": "verdict_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": ID_PATTERN, "title": "Verdict Id"},
            },
        ],
        "requestBody": {
            "required": True,
            "description": "A verdict as `gatekeeper check --format json` writes it (schemas/verdict.schema.json).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "responses": {
            "201": {"description": "Stored.", "content": stored},
            "200": {"description": "Already stored with the same body; stored once.", "content": stored},
            "401": {"description": "Missing, invalid, expired or revoked token."},
            "403": {"description": "Scope is not upload/admin, or the project is outside the token's patterns."},
            "409": {"description": "A different verdict is stored under this id."},
            "413": {"description": "Body over the size limit."},
            "422": {
                "description": "Bad id, not JSON, fails schemas/verdict.schema.json, or body id differs from path id."
            },
        },
    }


Reader = Annotated[Token, Depends(_requires(Scope.READ))]
Uploader = Annotated[Token, Depends(_requires(Scope.UPLOAD))]


def _delivery_figures(engine: Engine) -> list[Any]:
    """The four keys of every project and environment, for the /metrics gauges (imported when scraped)."""
    from datetime import datetime, timezone

    from gatekeeper.server.web.delivery import all_figures

    return list(all_figures(engine, datetime.now(timezone.utc)))


def create_app(
    engine: Engine,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    token_cache_seconds: float = DEFAULT_TOKEN_CACHE_SECONDS,
    token_failures: int = DEFAULT_TOKEN_FAILURES,
    token_failure_window: float = DEFAULT_TOKEN_FAILURE_WINDOW,
    server_metrics: ServerMetrics | None = None,
    metrics_public: bool = False,
) -> FastAPI:
    """The app on an engine whose database is already migrated (`gatekeeper serve` does that first).

    `token_cache_seconds`: how long a successful token check is reused without asking the database
    (0: never), so a revocation takes effect within that time.  `token_failures` wrong tokens from one
    client within `token_failure_window` seconds get it 429 until the oldest is that old (0: never).
    `/metrics` needs a read token unless `metrics_public`; `server_metrics` sets its label caps."""
    metrics = server_metrics or ServerMetrics()
    schema = _verdict_schema()
    validator = _schema_validator(schema)
    fast = _fast_validator(schema)
    head = migrations.head()
    configure_logging()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Database calls run in the threadpool: no more threads than pooled connections, so none waits
        # for a connection or makes the pool open one per request.
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = db.POOL_SIZE
        # The gauge of latest values is a state: rebuild it from the database, not from zero.
        rows = await run_in_threadpool(lambda: list(db.latest_metric_values(engine)))
        metrics.fill(rows)
        # What is alive now (FastAPI, pydantic, SQLAlchemy, the schema validators) lives as long as the
        # process: keep it out of the garbage collector's full passes, which otherwise scanned it all
        # every few hundred uploads and stopped every request for 70-270 ms (bench/LOAD.md).
        gc.freeze()
        yield
        engine.dispose()
        drain_logs()

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
    app.state.metrics = metrics
    metrics.delivery.source = lambda: _delivery_figures(engine)  # the four keys' gauges (issue 19)
    app.state.authenticator = Authenticator(
        engine, TokenCache(token_cache_seconds), FailureThrottle(token_failures, token_failure_window)
    )
    app.add_middleware(RequestObserver, metrics=metrics)
    from gatekeeper.server.releases import router as releases_router  # named releases (issue 6)

    app.include_router(releases_router(_requires))
    from gatekeeper.server.parts import router as parts_router  # a pipeline's parts (issue 18)

    app.include_router(parts_router(_authenticate, _bearer_text))
    from gatekeeper.server.delivery import router as delivery_api  # deployments and incidents (issue 19)

    app.include_router(delivery_api(_requires))
    from gatekeeper.server.web.routes import router as pages_router  # the release manager's pages (issue 6)

    app.include_router(pages_router)
    from gatekeeper.server.web.delivery_routes import router as delivery_router  # the four keys (issue 19)

    app.include_router(delivery_router)
    from gatekeeper.server.dora_api import router as four_keys_api  # the four keys for the CLI (issue 19)

    app.include_router(four_keys_api(_requires))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)  # every pooled connection busy for pool_timeout seconds
    async def database_error(_request: Request, error: Exception) -> JSONResponse:
        """A database that is down or busy is the client's cue to retry, not a bug to hide; a value it
        can never take is not, since the same request would meet the same refusal."""
        if _never_succeeds(error):
            return JSONResponse({"detail": "a value in this request cannot be stored or searched for"}, 422)
        return JSONResponse(
            {"detail": "database unavailable, retry later"}, status_code=503, headers={"Retry-After": "1"}
        )

    # -- upload ------------------------------------------------------------------------------------

    async def put_verdict(request: Request) -> Response:
        """Store a verdict under its id: 201 the first time, 200 for the same body again, 409 for another.

        A plain Starlette endpoint (documented by `_upload_operation`): the checks in the order FastAPI
        would make them — token, scope, path, then the body — and nothing written unless all pass."""
        token = await _authenticate(request, _bearer_text(request))
        if token is None:
            return _problem(401, _UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
        if not token.allows(Scope.UPLOAD):
            return _problem(403, f"this token's scope is {token.scope.value}, not {Scope.UPLOAD.value}")
        verdict_id: str = request.path_params["verdict_id"]
        if not _ID.fullmatch(verdict_id):  # `$` alone would let a trailing newline through
            return _problem(422, f"verdict_id must match {ID_PATTERN}", "verdict_id")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return _problem(413, f"body over {max_body} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                return _problem(413, f"body over {max_body} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            verdict = parse_body(raw)
        except Unstorable as error:
            return _problem(422, f"body refused: {error}")
        except (ValueError, RecursionError) as error:
            return _problem(422, f"body is not JSON: {error}")
        problem = _schema_problem(validator, verdict, fast)
        if problem is not None:
            return _problem(422, f"verdict does not match the schema at {problem[0]}: {problem[1]}", problem[0])
        if verdict["id"] != verdict_id:
            return _problem(422, f"$.id {verdict['id']!r} differs from the id in the path {verdict_id!r}", "$.id")
        project = verdict["context"]["project"]
        if not token.allows_project(project):
            if project is None:  # never "project None": say what is missing and where it is set
                return _problem(403, "this token may not upload a verdict of no project: give `check --project NAME`")
            return _problem(403, f"this token may not upload verdicts of project {project!r}")
        try:
            outcome, row = await run_in_threadpool(db.add_verdict, engine, verdict)
        except db.VerdictRejected as error:
            return _problem(422, str(error), str(error).split(":")[0])
        if outcome == "conflict":
            return _problem(409, f"a different verdict with id {verdict_id!r} is already stored")
        if outcome == "created":
            metrics.stored(verdict, row["received_at"])
        created = outcome == "created"
        return Response(
            _dumps({"id": verdict_id, "created": created}),
            status_code=201 if created else 200,
            media_type="application/json",
        )

    # First in the list: the router tries routes in order, and this is the one that takes the load.
    app.router.routes.insert(0, _NamedRoute(UPLOAD_PATH, put_verdict, methods=["PUT"], include_in_schema=False))
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, plus the upload operation (a route FastAPI does not describe)."""
        document = generate_openapi()
        document["paths"].setdefault(UPLOAD_PATH, {})["put"] = _upload_operation()
        components = document.setdefault("components", {})
        components.setdefault("schemas", {})["Stored"] = Stored.model_json_schema()
        components.setdefault("securitySchemes", {}).setdefault("HTTPBearer", {"type": "http", "scheme": "bearer"})
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    # -- queries -----------------------------------------------------------------------------------

    @app.get(f"{API}/verdicts", response_model=Page)
    def list_verdicts(
        _token: Reader,
        project: Annotated[str | None, Query(**TEXT)] = None,
        branch: Annotated[str | None, Query(**TEXT)] = None,
        commit: Annotated[str | None, Query(**TEXT)] = None,
        pipeline: Annotated[str | None, Query(**TEXT)] = None,
        status: Decision | None = None,
        since: Annotated[str | None, Query(description="ISO-8601, inclusive; a bare date is UTC midnight")] = None,
        until: Annotated[str | None, Query(description="ISO-8601, exclusive")] = None,
        id_prefix: Annotated[
            str | None,
            Query(pattern=ID_PATTERN, description="only ids that start with this (a verdict's short id)"),
        ] = None,
        commit_prefix: Annotated[
            str | None,
            Query(pattern=COMMIT_PREFIX_PATTERN, description="only commits that start with these 7-63 hex digits"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=400, description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:
        """Verdict summaries, newest (as received by the server) first; follow `next_cursor` for the next
        page.  `since` and `until` are on each verdict's `created_at`."""
        filters = db.Filters(
            project=project,
            branch=branch,
            commit=commit,
            pipeline=pipeline,
            status=status.value if status is not None else None,
            since=_instant("since", since),
            until=_instant("until", until),
            id_prefix=id_prefix,
            commit_prefix=None if commit_prefix is None else commit_prefix.lower(),
        )
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
        """One metric's values over time, oldest (received) first: the newest `limit` of them."""
        filters = db.Filters(project=project, branch=branch, since=_instant("since", since))
        return {"items": db.metric_history(engine, filters, metric, limit)}

    @app.get(
        f"{API}/test-runs",
        response_model=TestRuns,
        responses={401: {"description": "No live token."}, 403: {"description": "Not a project this token may read."}},
    )
    async def test_runs(
        request: Request,
        project: Annotated[str, Query(min_length=1, **TEXT)],
        since: Annotated[
            str, Query(description="ISO-8601, inclusive, on when this server received each verdict (received_at)")
        ],
        job: Annotated[str | None, Query(description="the CI job; absent: verdicts of no job", **TEXT)] = None,
        limit: Annotated[int, Query(ge=1, le=db.TEST_RUN_LIMIT)] = db.TEST_RUN_LIMIT,
    ) -> dict[str, Any]:
        """What the verdicts of one job of a project that read tests say of them, oldest first (the newest
        `limit` this server received since `since`, whatever time a verdict claims): the history
        `check --upload` reads flaky tests from.  A read token reads any project; an upload token the
        projects it may upload (a CI job's own token)."""
        token = await _authenticate(request, _bearer_text(request))
        if token is None:
            raise HTTPException(401, _UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
        if not (token.allows(Scope.READ) or token.allows_project(project)):
            raise HTTPException(403, f"this token may not read verdicts of project {project!r}")
        start = _instant("since", since)
        runs = await run_in_threadpool(db.test_runs, engine, project, job, start or since, limit)
        return {"items": [_run_item(run) for run in runs]}

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

    @app.get(
        "/metrics",
        response_class=Response,
        dependencies=[] if metrics_public else [Depends(_requires(Scope.READ))],
        responses={} if metrics_public else {401: {"description": "Missing, invalid, expired or revoked token."}},
    )
    def prometheus() -> Response:
        """Prometheus text exposition; a read token (bearer) unless the server runs with --metrics-public.
        In the threadpool, holding no lock an upload needs (see `observability`)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _run_item(run: TestRun) -> dict[str, Any]:
    return {
        "verdict_id": run.verdict_id,
        "commit": run.commit,
        "failed": sorted(run.failed),
        "flaky": sorted(run.flaky),
        "complete": run.complete,
    }


def _never_succeeds(error: Exception) -> bool:
    """A database error the same request meets every time: a value the database cannot hold (DataError:
    NUL in PostgreSQL text) or past one of its limits (SQLSTATE class 54: an index row over 2704 bytes),
    which psycopg reports as an OperationalError, as it does a lost connection."""
    if isinstance(error, DataError):
        return True
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("54")


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
