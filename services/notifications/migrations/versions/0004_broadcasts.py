"""Residents directory, broadcasts and their fan-out cursor, push-type notice rules and runs.

Every new table is under row-level security by tenant, like the others.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("residents", "broadcasts", "broadcast_fanouts", "notice_rules", "notice_runs", "broadcast_outbox")


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("district", sa.String(64), nullable=True),
        sa.Column("birthdate", sa.Date(), nullable=True),
        sa.Column("youngest_child_born", sa.Date(), nullable=True),
        sa.Column("push_consent", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
        sa.UniqueConstraint("tenant", "subject", name="uq_residents_subject"),
    )
    op.create_index("ix_residents_tenant_id", "residents", ["tenant", "id"])
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("districts", sa.Text(), nullable=False),
        sa.Column("title_ja", sa.String(400), nullable=False),
        sa.Column("body_ja", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(400), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("approver", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_index("ix_broadcasts_created", "broadcasts", ["tenant", "created_at"])
    op.create_table(
        "broadcast_fanouts",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("broadcast_id", sa.String(36), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("inbox", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "broadcast_id", name="pk_broadcast_fanouts"),
    )
    op.create_table(
        "notice_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("name_ja", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("title_ja", sa.String(400), nullable=False),
        sa.Column("body_ja", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(400), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notice_rules"),
    )
    op.create_table(
        "notice_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(36), nullable=False),
        sa.Column("run_by", sa.String(64), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("notified", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notice_runs"),
    )
    op.create_index("ix_notice_runs_rule", "notice_runs", ["tenant", "rule_id", "run_at"])
    op.create_table(
        "broadcast_outbox",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcast_outbox"),
    )
    op.create_index("ix_broadcast_outbox_unpublished", "broadcast_outbox", ["published_at", "created_at"])
    # The town's import may run as the app role: it inserts through the residents' sequence.
    rls_migration.enable(TABLES, serial_columns=(("residents", "id"),))


def downgrade() -> None:
    rls_migration.disable(TABLES)
    op.drop_index("ix_broadcast_outbox_unpublished", "broadcast_outbox")
    op.drop_table("broadcast_outbox")
    op.drop_index("ix_notice_runs_rule", "notice_runs")
    op.drop_table("notice_runs")
    op.drop_table("notice_rules")
    op.drop_table("broadcast_fanouts")
    op.drop_index("ix_broadcasts_created", "broadcasts")
    op.drop_table("broadcasts")
    op.drop_index("ix_residents_tenant_id", "residents")
    op.drop_table("residents")
