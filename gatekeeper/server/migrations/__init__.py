"""Alembic migrations of the server database, run in code at start: users never need an alembic.ini.

PostgreSQL upgrades hold an advisory lock, so several servers (or `tokens` commands) starting at once
against one database migrate it once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

#: Our own version table, so an application sharing the database with its own Alembic history is left alone.
VERSION_TABLE = "gatekeeper_alembic_version"

_LOCK_KEY = 0x474B5356  # "GKSV": any fixed number no other application is likely to pick


def _config() -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


def head() -> str | None:
    """The newest revision this gatekeeper knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()  # type: ignore[arg-type]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to the newest revision (a no-op when it is there), or to `revision` (tests
    build a database as an older gatekeeper left it, then upgrade it)."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        config.attributes["connection"] = connection  # type: ignore[attr-defined]
        command.upgrade(config, revision)  # type: ignore[arg-type]


def current(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()
