"""Initial schema: verdicts, their numeric metrics, and API tokens.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("project", sa.Text()),
        sa.Column("branch", sa.Text()),
        sa.Column("commit", sa.Text()),
        sa.Column("pipeline", sa.Text()),
        sa.Column("policy_name", sa.Text()),
        sa.Column("level_achieved", sa.Integer()),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("verdicts_project_branch_created", "verdicts", ["project", "branch", "created_at"])
    op.create_index("verdicts_created_id", "verdicts", ["created_at", "id"])
    op.create_table(
        "verdict_metrics",
        sa.Column("verdict_id", sa.String(64), sa.ForeignKey("verdicts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index("verdict_metrics_name", "verdict_metrics", ["name", "verdict_id"])
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("projects", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32)),
        sa.Column("revoked_at", sa.String(32)),
    )


def downgrade() -> None:
    op.drop_table("tokens")
    op.drop_index("verdict_metrics_name", "verdict_metrics")
    op.drop_table("verdict_metrics")
    op.drop_index("verdicts_created_id", "verdicts")
    op.drop_index("verdicts_project_branch_created", "verdicts")
    op.drop_table("verdicts")
