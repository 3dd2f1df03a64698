"""Outbound channels beyond email: web push subscriptions, webhooks, and the outbox (issue 5).

The outbox carries ``delivery.finished`` events and dead letters, committed with the delivery's
last state. All three tables get row-level security by tenant like the others.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("push_subscriptions", "webhooks", "outbox")


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(1000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "subject", "endpoint", name="uq_push_subscriptions_endpoint"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "created_at"])
    # The sender claims due deliveries per town and channel (its rate limits are per channel).
    op.create_index("ix_deliveries_channel_due", "deliveries", ["tenant", "channel", "status", "next_attempt_at"])
    rls_migration.enable(TABLES)


def downgrade() -> None:
    rls_migration.disable(TABLES)
    op.drop_index("ix_deliveries_channel_due", "deliveries")
    op.drop_table("outbox")
    op.drop_table("webhooks")
    op.drop_table("push_subscriptions")
