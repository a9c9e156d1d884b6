"""The server's own time: `verdicts.received_at`, and every stored time in one sortable form.

Before this revision the server ordered verdicts by `created_at`, the client's claim, and wrote years
before 1000 without zero padding (strftime's `%Y` on glibc), so a verdict dated 0999 sorted after every
real one (issue 13).  This revision:

- pads every stored time shorter than the canonical 27 characters (`TIME_FORMAT`) — verdicts'
  `created_at`, tokens' and releases' times — so text order is time order again;
- adds `received_at`, filled for earlier rows from their `created_at` (the best there is) but never
  later than now, since they were all received before now: a row dated 9999 is "latest" only until
  the next verdict arrives;
- replaces the indexes that ordered by `created_at` with ones on `received_at` (`verdicts_created_id`
  stays, for the since/until filters).

The column is added NOT NULL with a default of '' (SQLite adds a NOT NULL column only with a default)
and filled in the same transaction; PostgreSQL then drops the default, SQLite keeps it (removing it
means copying the table, and the server always writes the column).

Revision ID: 0004_received_at
Revises: 0003_bytewise_id
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from gatekeeper.store.codec import TIME_FORMAT, utc_text

revision = "0004_received_at"
down_revision = "0003_bytewise_id"
branch_labels = None
depends_on = None

#: (table, key column, time columns) of every stored time.
_TIMES = (
    ("verdicts", "id", ("created_at",)),
    ("tokens", "id", ("created_at", "expires_at", "revoked_at")),
    ("releases", "name", ("created_at", "updated_at")),
)
_WIDTH = len(TIME_FORMAT.format(datetime(2026, 1, 1, tzinfo=timezone.utc)))
_OLD = (
    ("verdicts_project_branch_created", ["project", "branch", "created_at"]),
    ("verdicts_project_commit_created", ["project", "commit", "created_at"]),
    ("verdicts_project_pipeline_created", ["project", "pipeline", "created_at"]),
)
_NEW = (
    ("verdicts_project_branch_received", ["project", "branch", "received_at", "id"]),
    ("verdicts_project_commit_received", ["project", "commit", "received_at", "id"]),
    ("verdicts_project_pipeline_received", ["project", "pipeline", "received_at", "id"]),
    ("verdicts_received_id", ["received_at", "id"]),
)


def _pad_times(connection: sa.Connection) -> None:
    """Zero-pad the year of every time shorter than the canonical width (only unpadded years are)."""
    for table_name, key, columns in _TIMES:
        table = sa.table(table_name, sa.column(key), *(sa.column(name) for name in columns))
        for name in columns:
            column = table.c[name]
            short = connection.execute(sa.select(table.c[key], column).where(sa.func.length(column) < _WIDTH)).all()
            for identifier, value in short:
                connection.execute(
                    sa.update(table).where(table.c[key] == identifier).values({name: value.rjust(_WIDTH, "0")})
                )


def upgrade() -> None:
    connection = op.get_bind()
    _pad_times(connection)
    op.add_column("verdicts", sa.Column("received_at", sa.String(32), nullable=False, server_default=""))
    now = utc_text(datetime.now(timezone.utc))
    verdicts = sa.table("verdicts", sa.column("created_at"), sa.column("received_at"))
    connection.execute(
        sa.update(verdicts).values(
            received_at=sa.case((verdicts.c.created_at <= now, verdicts.c.created_at), else_=sa.literal(now))
        )
    )
    if connection.dialect.name == "postgresql":
        op.alter_column("verdicts", "received_at", server_default=None)
    for name, _ in _OLD:
        op.drop_index(name, "verdicts")
    for name, columns in _NEW:
        op.create_index(name, "verdicts", columns)


def downgrade() -> None:
    for name, _ in _NEW:
        op.drop_index(name, "verdicts")
    for name, columns in _OLD:
        op.create_index(name, "verdicts", columns)
    op.drop_column("verdicts", "received_at")
