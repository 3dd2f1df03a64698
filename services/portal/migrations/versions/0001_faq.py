"""The FAQ's log of unanswered questions, under row-level security by tenant.

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

TABLES = ("faq_unanswered",)


def upgrade() -> None:
    op.create_table(
        "faq_unanswered",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("normalised", sa.String(400), nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "normalised", name="pk_faq_unanswered"),
    )
    rls_migration.enable(TABLES)


def downgrade() -> None:
    rls_migration.disable(TABLES)
    op.drop_table("faq_unanswered")
