"""Inbox messages, preferences, templates, deliveries and processed events.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=True),
        sa.Column("title_ja", sa.String(400), nullable=False),
        sa.Column("body_ja", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(400), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_messages"),
        sa.UniqueConstraint("tenant", "event_id", "recipient", name="uq_inbox_messages_event"),
    )
    op.create_index("ix_inbox_messages_recipient", "inbox_messages", ["tenant", "recipient", "created_at"])
    op.create_table(
        "preferences",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("channels", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "subject", name="pk_preferences"),
    )
    op.create_table(
        "templates",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("title_ja", sa.String(200), nullable=False),
        sa.Column("body_ja", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "kind", name="pk_templates"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["tenant", "status", "next_attempt_at"])
    op.create_index("ix_deliveries_message", "deliveries", ["tenant", "message_id"])
    op.create_table(
        "processed_events",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "event_id", name="pk_processed_events"),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_deliveries_message", "deliveries")
    op.drop_index("ix_deliveries_due", "deliveries")
    op.drop_table("deliveries")
    op.drop_table("templates")
    op.drop_table("preferences")
    op.drop_index("ix_inbox_messages_recipient", "inbox_messages")
    op.drop_table("inbox_messages")
