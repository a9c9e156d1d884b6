"""An index that finds verdicts by id prefix on PostgreSQL whatever the database's collation.

`verdicts show PREFIX --server` asks for ids in a bytewise range (`db.bytewise`); under a linguistic
collation the primary key's index cannot answer that.  SQLite compares bytewise already: nothing to add.

Revision ID: 0003_bytewise_id
Revises: 0002_releases
"""

from __future__ import annotations

from alembic import op

revision = "0003_bytewise_id"
down_revision = "0002_releases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX verdicts_id_bytewise ON verdicts ((id COLLATE "C"))')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX verdicts_id_bytewise")
