"""References people can read (受付番号): a per-town, per-year counter and the applications' column.

Nullable: filings from before keep none (pages show the start of their id instead).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from services.runtime import rls_migration

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_counters",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    rls_migration.enable(["reference_counters"])
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("reference", sa.String(24)))
        batch.create_unique_constraint("uq_applications_tenant_reference", ["tenant", "reference"])


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("uq_applications_tenant_reference", type_="unique")
        batch.drop_column("reference")
    rls_migration.disable(["reference_counters"])
    op.drop_table("reference_counters")
