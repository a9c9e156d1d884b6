"""Alembic's entry point: runs on the connection `gatekeeper.server.migrate` passes in `config.attributes`."""

from __future__ import annotations

from alembic import context

from gatekeeper.server.db import metadata
from gatekeeper.server.migrations import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
