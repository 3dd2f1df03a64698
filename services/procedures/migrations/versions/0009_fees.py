"""Each application's fee in whole yen, fixed when it is filed (what the resident saw and pays).

Not null with a server default of 0: applications from before fees were kept read as free, and
adding the column rewrites no rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("fee_yen", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("fee_yen")
