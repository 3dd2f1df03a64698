"""How fees were paid (online or at the counter), from procedures' payment.settled events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("payment_facts",)


def upgrade() -> None:
    op.create_table(
        "payment_facts",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "application_id", name="pk_payment_facts"),
    )
    op.create_index("ix_payment_facts_paid", "payment_facts", ["tenant", "paid_at"])
    rls_migration.enable(TABLES)


def downgrade() -> None:
    rls_migration.disable(TABLES)
    op.drop_index("ix_payment_facts_paid", table_name="payment_facts")
    op.drop_table("payment_facts")
