"""The four keys' joins at scale (issue 19, `gatekeeper.server.web.delivery`): an incident's deployment.

Change failure rate asks, per deployment of a window, whether an incident names it as its cause
(`incidents.caused_by_deployment`): without this index each deployment would scan the project's
incidents.

Revision ID: 0007_delivery_indexes
Revises: 0006_delivery
"""

from __future__ import annotations

from alembic import op

revision = "0007_delivery_indexes"
down_revision = "0006_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("incidents_caused_by_deployment", "incidents", ["caused_by_deployment"])


def downgrade() -> None:
    op.drop_index("incidents_caused_by_deployment", "incidents")
