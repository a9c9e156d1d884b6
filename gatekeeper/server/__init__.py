"""The store server (`gatekeeper serve`): verdict upload and query over HTTP, on SQLite or PostgreSQL.

An optional extra (`gatekeeper[server]`): nothing outside this package and the `serve`/`tokens` commands
imports FastAPI or SQLAlchemy, so the gate itself starts fast without them.
"""

from __future__ import annotations

from gatekeeper.errors import UsageError

#: The environment variable naming the server's database (the CLI's `--db` defaults to it).
DATABASE_ENV = "GATEKEEPER_DATABASE_URL"

#: Where the database lives when neither `--db` nor the environment says: relative to the cwd.
DEFAULT_DATABASE_URL = "sqlite:///.gatekeeper/server.db"

#: Request bodies larger than this (bytes) are refused with 413 unless `--max-body` says otherwise.
DEFAULT_MAX_BODY = 1024 * 1024


def server_extra_missing(error: ImportError) -> UsageError:
    """What `serve` and `tokens` say without this extra's packages (exit 2): how to get them, not a
    traceback.  Here, importable without them, so both commands say the same."""
    return UsageError(f"the server needs the optional extra: pip install 'gatekeeper[server]' ({error})")
