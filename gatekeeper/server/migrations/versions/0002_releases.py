"""Named releases, and the indexes that find a release member's latest verdict by commit or pipeline.

Revision ID: 0002_releases
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_releases"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("level", sa.Integer()),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("releases_created_name", "releases", ["created_at", "name"])
    op.create_index("verdicts_project_commit_created", "verdicts", ["project", "commit", "created_at"])
    op.create_index("verdicts_project_pipeline_created", "verdicts", ["project", "pipeline", "created_at"])


def downgrade() -> None:
    op.drop_index("verdicts_project_pipeline_created", "verdicts")
    op.drop_index("verdicts_project_commit_created", "verdicts")
    op.drop_index("releases_created_name", "releases")
    op.drop_table("releases")
