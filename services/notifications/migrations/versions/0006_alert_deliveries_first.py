"""The sender claims emergency deliveries before any other kind: it finds them through their
inbox messages of the last day, by an index of the emergency messages alone.

Partial (``kind = 'broadcast.emergency'``), so the inbox rows of announcements and application
messages, nearly all of them, cost no index entry more; queries name the kind as a literal for
the planner to match it (``sender.recent_alerts``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ALERTS = sa.text("kind = 'broadcast.emergency'")


def upgrade() -> None:
    op.create_index(
        "ix_inbox_messages_alerts", "inbox_messages", ["tenant", "created_at"],
        postgresql_where=ALERTS, sqlite_where=ALERTS,
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_messages_alerts", "inbox_messages")
