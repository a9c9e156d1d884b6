"""Deployments and incidents (issue 19, `gatekeeper.delivery`): the events the four keys are computed from.

One row per event identity: `id` is a digest of what makes the event itself (a deployment's project,
environment, commit, status and pipeline, or an explicit id; an incident's project, environment and the
client's id), so a repeated webhook or a retried CI step is the same row.  Times are the server's
received time (fixed-width UTC text, `TIME_FORMAT`); `claimed_at` is the client's word, for display.
The same tables, by the same names, are in the embedded store (`gatekeeper.store.sqlite`, schema 5).

Revision ID: 0006_delivery
Revises: 0005_parts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery"
down_revision = "0005_parts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("environment", sa.String(128), nullable=False),
        sa.Column("commit", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verdict_id", sa.String(64)),
        sa.Column("pipeline", sa.Text()),
        sa.Column("url", sa.Text()),
        sa.Column("deployed_at", sa.String(32), nullable=False),
        sa.Column("claimed_at", sa.String(32)),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("deployments_environment_deployed", "deployments", ["project", "environment", "deployed_at", "id"])
    op.create_index("deployments_environment_commit", "deployments", ["project", "environment", "commit", "status"])
    op.create_table(
        "deployment_commits",
        sa.Column(
            "deployment_id", sa.String(64), sa.ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("sha", sa.String(64), primary_key=True),
        sa.Column("committed_at", sa.String(32), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
    )
    op.create_index("deployment_commits_sha", "deployment_commits", ["sha", "deployment_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.Text(), nullable=False),
        sa.Column("environment", sa.String(128), nullable=False),
        sa.Column("incident", sa.String(255), nullable=False),
        sa.Column("opened_at", sa.String(32), nullable=False),
        sa.Column("resolved_at", sa.String(32)),
        sa.Column("caused_by", sa.String(64)),
        sa.Column("caused_by_deployment", sa.String(64)),
        sa.Column("resolved_by_deployment", sa.String(64)),
    )
    op.create_index("incidents_environment_opened", "incidents", ["project", "environment", "opened_at", "id"])


def downgrade() -> None:
    op.drop_index("incidents_environment_opened", "incidents")
    op.drop_table("incidents")
    op.drop_index("deployment_commits_sha", "deployment_commits")
    op.drop_table("deployment_commits")
    op.drop_index("deployments_environment_commit", "deployments")
    op.drop_index("deployments_environment_deployed", "deployments")
    op.drop_table("deployments")
