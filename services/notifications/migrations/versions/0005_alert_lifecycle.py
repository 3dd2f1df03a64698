"""Emergency alerts: an end time, corrections and cancellations, the reach at approval and the
override for nobody to reach, and the alarm when one has not reached every town in time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as table:
        table.add_column(sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("corrects", sa.String(36), nullable=True))
        table.add_column(sa.Column("cancels", sa.String(36), nullable=True))
        table.add_column(sa.Column("replaced_by", sa.String(36), nullable=True))
        table.add_column(sa.Column("recipients", sa.Integer(), nullable=True))
        table.add_column(sa.Column("zero_recipients_reason", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("alarm_at", sa.DateTime(timezone=True), nullable=True))
    # The watch looks for released alerts without an alarm, newest first.
    op.create_index("ix_broadcasts_alerts", "broadcasts", ["tenant", "kind", "released_at"])


def downgrade() -> None:
    op.drop_index("ix_broadcasts_alerts", "broadcasts")
    with op.batch_alter_table("broadcasts") as table:
        for column in ("alarm_at", "zero_recipients_reason", "recipients", "replaced_by", "cancels", "corrects", "ends_at"):
            table.drop_column(column)
