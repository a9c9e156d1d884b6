"""A pipeline's parts (issue 18): each job's evidence as an opaque encoded body.

One row per distinct attempt: the same part (name and bytes) uploaded again is the same row (unique on
project, pipeline, name, sha256); a retried job's different bytes are a second row.  `received_at` is
the server's clock, and with `id` (insertion order) it is what parts are listed by.

Revision ID: 0005_parts
Revises: 0004_received_at
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_parts"
down_revision = "0004_received_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("project", "pipeline", "name", "sha256", name="parts_identity"),
    )
    op.create_index("parts_pipeline_received", "parts", ["project", "pipeline", "received_at", "id"])


def downgrade() -> None:
    op.drop_index("parts_pipeline_received", "parts")
    op.drop_table("parts")
