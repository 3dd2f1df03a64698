"""The actor's name on each status change, as it was at the time (the history shows names).

Nullable: links made before keep none, and their hashes stay as they were (``chain.link_hash``
covers the name only where a link has one). A nullable column rewrites no rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_changes") as batch:
        batch.add_column(sa.Column("actor_name", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("status_changes") as batch:
        batch.drop_column("actor_name")
