"""Application and delivery facts and processed events, under row-level security by tenant.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("application_facts", "delivery_facts", "processed_events")


def upgrade() -> None:
    op.create_table(
        "application_facts",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("standard_days", sa.Integer(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_status", sa.String(20), nullable=True),
        sa.Column("counter_visit", sa.Boolean(), nullable=False),
        sa.Column("card_verified", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "application_id", name="pk_application_facts"),
    )
    op.create_index("ix_application_facts_submitted", "application_facts", ["tenant", "submitted_at"])
    op.create_table(
        "delivery_facts",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "delivery_id", name="pk_delivery_facts"),
    )
    op.create_index("ix_delivery_facts_occurred", "delivery_facts", ["tenant", "occurred_at"])
    op.create_table(
        "processed_events",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "event_id", name="pk_processed_events"),
    )
    rls_migration.enable(TABLES)


def downgrade() -> None:
    rls_migration.disable(TABLES)
    op.drop_table("processed_events")
    op.drop_index("ix_delivery_facts_occurred", "delivery_facts")
    op.drop_table("delivery_facts")
    op.drop_index("ix_application_facts_submitted", "application_facts")
    op.drop_table("application_facts")
