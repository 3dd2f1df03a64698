"""Fee payment: each application's payment, its visits to the provider's page, one ledger of
money in and out (online and at the counter), and the provider notifications already handled.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ["payments", "payment_attempts", "payment_ledger", "provider_events"]


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("payment_state", sa.String(16), nullable=True))
    op.create_table(
        "payments",
        sa.Column("application_id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("choice", sa.String(8), nullable=False),
        sa.Column("method", sa.String(8)),
        sa.Column("payment_intent", sa.String(64)),
        sa.Column("charge", sa.String(64)),
        sa.Column("refund", sa.String(64)),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("refunded_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "payment_attempts",
        sa.Column("session_id", sa.String(128), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payment_attempts_application", "payment_attempts", ["tenant", "application_id"])
    op.create_table(
        "payment_ledger",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("reference", sa.String(24)),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("provider_reference", sa.String(64)),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant", "application_id", "kind", name="uq_payment_ledger_application_kind"),
    )
    op.create_index("ix_payment_ledger_tenant_at", "payment_ledger", ["tenant", "at"])
    op.create_table(
        "provider_events",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    rls_migration.enable(TABLES, [("payment_ledger", "id")])


def downgrade() -> None:
    rls_migration.disable(TABLES)
    for table in reversed(TABLES):
        op.drop_table(table)
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("payment_state")
