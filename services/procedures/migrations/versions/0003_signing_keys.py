"""Each town's signing keys for receipts and issued documents; receipts and issued documents kept with applications.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_jwk_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_signing_keys_tenant", "signing_keys", ["tenant"])
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("receipt", sa.Text()))
        batch.add_column(sa.Column("document", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("document")
        batch.drop_column("receipt")
    op.drop_table("signing_keys")
