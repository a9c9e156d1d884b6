"""`gatekeeper tokens create|list|revoke`: manage API tokens directly in the server's database."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from gatekeeper.errors import UsageError, path_status
from gatekeeper.status import ExitStatus


def create(database_url: str, scope: str, projects: tuple[str, ...], expires: str | None, out: TextIO) -> ExitStatus:
    """Create a token and print it once: only its hash is kept."""
    _require_server_extra()
    from gatekeeper.server import auth
    from gatekeeper.server.db import open_database

    if projects and scope != auth.Scope.UPLOAD.value:
        raise UsageError("--project limits upload tokens only; read and admin tokens see every project")
    for pattern in projects:
        # An empty pattern matches only verdicts of no project (every upload got 403) and listed as `*`.
        if not pattern.strip():
            raise UsageError("--project: an empty (or blank) pattern matches no project; give a glob such as bank/*")
        if pattern != pattern.strip():
            raise UsageError(f"--project {pattern!r}: has leading or trailing whitespace, which no project name has")
    if expires is not None:
        from gatekeeper.store.codec import utc_text

        try:
            expires_at = utc_text(expires, naive_is_utc=True)
        except ValueError as error:
            raise UsageError(f"--expires: {error}") from None
        if expires_at <= auth.now_text():  # stored times compare as text (fixed-width UTC)
            raise UsageError(f"--expires {expires!r} is in the past: the token would be born expired")
    engine = open_database(database_url)
    try:
        _token, secret = auth.create(engine, auth.Scope(scope), projects, expires)
    finally:
        engine.dispose()
    out.write(f"{secret}\n")
    return ExitStatus.PASS


def list_tokens(database_url: str, output_format: str, out: TextIO) -> ExitStatus:
    """Every token with its scope, projects and state (live, expired or revoked); never a secret."""
    _require_server_extra()
    from gatekeeper.server import auth
    from gatekeeper.server.db import open_database

    _existing_database(database_url)
    engine = open_database(database_url)
    try:
        found = auth.list_tokens(engine)
    finally:
        engine.dispose()
    now = auth.now_text()  # one instant for every row
    if output_format == "json":
        rows = [
            {
                **asdict(token),
                "scope": token.scope.value,
                "projects": list(token.projects),
                "state": token.state(now).value,
            }
            for token in found
        ]
        out.write(json.dumps(rows, indent=2) + "\n")
        return ExitStatus.PASS
    out.write(f"{'ID':<14}{'SCOPE':<8}{'STATE':<9}{'EXPIRES':<29}PROJECTS\n")
    for token in found:
        # `*` only for a token with no patterns (any project); an empty pattern (made before it was refused) shows.
        projects = ",".join(pattern or "''" for pattern in token.projects) or "*"
        state = token.state(now).value
        out.write(f"{token.id:<14}{token.scope.value:<8}{state:<9}{token.expires_at or '-':<29}{projects}\n")
    return ExitStatus.PASS


def revoke(database_url: str, token_id: str, out: TextIO) -> ExitStatus:
    """Revoke a token by its id (the part after `gk_`); it is refused from the next request on."""
    _require_server_extra()
    from gatekeeper.server import auth
    from gatekeeper.server.db import open_database

    _existing_database(database_url)
    engine = open_database(database_url)
    try:
        revoked = auth.revoke(engine, token_id)
    finally:
        engine.dispose()
    if not revoked:
        raise UsageError(f"no live token with id {token_id!r} (see `gatekeeper tokens list`)")
    out.write(f"revoked {token_id}\n")
    return ExitStatus.PASS


def _existing_database(database_url: str) -> None:
    """`tokens list` and `revoke` read tokens: on an SQLite file that is not there (a typo in --db), they
    refuse instead of creating its directories and an empty database.  `tokens create` and `serve` create it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except ArgumentError:
        return  # open_database says what is wrong with it
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if path_status(path) is None:  # a name too long, a symlink loop: exit 2 naming it
        raise UsageError(
            f"database {path} does not exist: is --db (or GATEKEEPER_DATABASE_URL) right? "
            "`gatekeeper tokens create` or `gatekeeper serve` makes it"
        )


def _require_server_extra() -> None:
    """Tokens live in the server's database, read through its packages: without them, say what `serve`
    says (exit 2), not an internal error."""
    from gatekeeper.server import server_extra_missing

    try:
        import sqlalchemy  # noqa: F401

        from gatekeeper.server import auth, db  # noqa: F401
    except ImportError as error:
        raise server_extra_missing(error) from None
