"""`gatekeeper serve`: run the store server until SIGTERM/SIGINT, finishing requests in flight."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from gatekeeper.context import is_loopback_host
from gatekeeper.errors import UsageError
from gatekeeper.status import ExitStatus

#: How long, in seconds, a stopping server waits for requests in flight before dropping them.
GRACEFUL_SECONDS = 30

#: How `--workers` processes receive their options (they build their own app and engine).
_OPTIONS_ENV = "GATEKEEPER_SERVE_OPTIONS"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    database_url: str
    host: str
    port: int
    max_body: int
    workers: int = 1
    token_cache_seconds: float = 5.0
    token_failures: int = 60
    token_failure_window: float = 60.0
    metrics_public: bool = False
    metrics_projects: int = 500
    metrics_branches: tuple[str, ...] = ("main", "master")


def _app(options: ServeOptions, engine: Any = None) -> Any:
    from gatekeeper.server.app import create_app
    from gatekeeper.server.db import make_engine
    from gatekeeper.server.observability import ServerMetrics

    if engine is None:  # a worker: the parent has migrated the database already
        engine = make_engine(options.database_url)
    return create_app(
        engine,
        max_body=options.max_body,
        token_cache_seconds=options.token_cache_seconds,
        token_failures=options.token_failures,
        token_failure_window=options.token_failure_window,
        server_metrics=ServerMetrics(max_projects=options.metrics_projects, branches=options.metrics_branches),
        metrics_public=options.metrics_public,
    )


def worker_app() -> Any:
    """The app factory each `--workers` process calls (uvicorn `factory=True`)."""
    options = json.loads(os.environ[_OPTIONS_ENV])
    return _app(ServeOptions(**options | {"metrics_branches": tuple(options["metrics_branches"])}))


def run(options: ServeOptions) -> ExitStatus:
    """Migrate the database, then serve; the migration runs first so a bad URL is a one-line error.

    One worker serves the app built here; more are separate processes (one GIL each), each with its
    own engine and connection pool, started by uvicorn from `worker_app`.  uvicorn picks uvloop and
    httptools when they are installed (`uvicorn[standard]`)."""
    if options.metrics_public and not is_loopback_host(options.host):
        raise UsageError(
            f"--metrics-public needs a loopback --host (127.0.0.1, ::1, localhost), not {options.host!r}: "
            "anyone who can reach the port could read /metrics; give Prometheus a read token instead"
        )
    try:
        import uvicorn

        from gatekeeper.server.app import create_app  # noqa: F401 - fail here, with the hint, if missing
        from gatekeeper.server.db import open_database, redacted
    except ImportError as error:
        from gatekeeper.server import server_extra_missing

        raise server_extra_missing(error) from None

    engine = open_database(options.database_url)
    settings: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "access_log": False,  # our middleware logs each request as one JSON line
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "log_level": "warning",
        "server_header": False,
    }
    if options.workers > 1:
        engine.dispose()  # workers open their own connections
        os.environ[_OPTIONS_ENV] = json.dumps(asdict(options))
        app: Any = "gatekeeper.commands.serve:worker_app"
        settings.update(factory=True, workers=options.workers)
    else:
        app = _app(options, engine)
    workers = f", {options.workers} workers" if options.workers > 1 else ""
    print(
        f"gatekeeper: serving {redacted(options.database_url)} on http://{options.host}:{options.port}{workers}",
        flush=True,
    )
    uvicorn.run(app, **settings)
    return ExitStatus.PASS
