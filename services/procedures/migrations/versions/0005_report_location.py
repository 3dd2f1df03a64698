"""Where a report is: latitude, longitude and the reporter's description of the place (Open311).

Nullable: applications of other procedures have no location, and reports filed before this
revision keep none. Adding nullable columns rewrites no rows, so row-level security (0004)
needs no town-by-town pass here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("lat", sa.Float()))
        batch.add_column(sa.Column("long", sa.Float()))
        batch.add_column(sa.Column("address_string", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("address_string")
        batch.drop_column("long")
        batch.drop_column("lat")
