"""Applications, their hash-chained status changes, attachments, idempotency keys and the outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("applicant_subject", sa.String(64)),
        sa.Column("applicant_name", sa.String(100), nullable=False),
        sa.Column("applicant_address", sa.String(200)),
        sa.Column("applicant_birthdate", sa.String(10)),
        sa.Column("filed_by", sa.String(64)),
        sa.Column("answers_json", sa.LargeBinary(), nullable=False),
        sa.Column("assigned_to", sa.String(64)),
        sa.Column("due_on", sa.Date()),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_applications_tenant_status", "applications", ["tenant", "status"])
    op.create_index("ix_applications_tenant_applicant", "applications", ["tenant", "applicant_subject"])
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer()),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        # Filled when the change is sealed into the town's chain, in order, by one sealer at a time.
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("hash", sa.String(64)),
        sa.UniqueConstraint("tenant", "seq", name="uq_status_changes_tenant_seq"),
    )
    op.create_index("ix_status_changes_application", "status_changes", ["application_id"])
    op.create_index("ix_status_changes_unsealed", "status_changes", ["tenant", "seq", "id"])
    op.create_table(
        "chain_heads",
        sa.Column("tenant", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("field", sa.String(48), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_attachments_application", "attachments", ["application_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("principal", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "principal", "key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "created_at"])


def downgrade() -> None:
    for table in ("outbox", "idempotency_keys", "attachments", "chain_heads", "status_changes", "applications"):
        op.drop_table(table)
