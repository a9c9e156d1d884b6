"""The four keys at scale (issue 19): a project's successful deployments of a window from one index.

Lead time and frequency read the successful deployments of one project and environment over a window
(bench/delivery.py: 1,000 of them a year, among a million rows).  An index on (project, environment,
status, deployed_at, id) answers that from the index alone; without it PostgreSQL read the whole table
in parallel for a year-long window (330 ms against 60 ms).

Revision ID: 0008_deployments_by_status
Revises: 0007_delivery_indexes
"""

from __future__ import annotations

from alembic import op

revision = "0008_deployments_by_status"
down_revision = "0007_delivery_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "deployments_status_deployed", "deployments", ["project", "environment", "status", "deployed_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("deployments_status_deployed", "deployments")
