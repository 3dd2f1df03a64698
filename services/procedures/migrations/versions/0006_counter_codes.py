"""Counter codes: the resident shows one at the desk to have a counter filing linked to them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counter_codes",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_counter_codes_expires_at", "counter_codes", ["expires_at"])
    rls_migration.enable(["counter_codes"])


def downgrade() -> None:
    rls_migration.disable(["counter_codes"])
    op.drop_index("ix_counter_codes_expires_at", "counter_codes")
    op.drop_table("counter_codes")
