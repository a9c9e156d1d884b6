"""`gatekeeper serve`: run the store server until SIGTERM/SIGINT, finishing requests in flight."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.errors import UsageError
from gatekeeper.status import ExitStatus

#: How long, in seconds, a stopping server waits for requests in flight before dropping them.
GRACEFUL_SECONDS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    database_url: str
    host: str
    port: int
    max_body: int


def run(options: ServeOptions) -> ExitStatus:
    """Migrate the database, then serve; the migration runs first so a bad URL is a one-line error."""
    try:
        import uvicorn

        from gatekeeper.server.app import create_app
        from gatekeeper.server.db import open_database, redacted
    except ImportError as error:
        raise UsageError(f"the server needs the optional extra: pip install 'gatekeeper[server]' ({error})") from None

    engine = open_database(options.database_url)
    app = create_app(engine, max_body=options.max_body)
    print(f"gatekeeper: serving {redacted(options.database_url)} on http://{options.host}:{options.port}", flush=True)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        access_log=False,  # our middleware logs each request as one JSON line
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        log_level="warning",
        server_header=False,
    )
    return ExitStatus.PASS
