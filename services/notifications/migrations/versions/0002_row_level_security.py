"""Row-level security on every table by tenant, as the procedures service's 0004 does.

Each table gets ENABLE and FORCE ROW LEVEL SECURITY and one policy: a row is visible and
writable only when its ``tenant`` equals the setting ``aizu.tenant`` (set per transaction by
``services/runtime/rls.py``); unset, no row matches. The consumer works as the event's town; the
email sender goes town by town. Privileges for the app role come from production's default
privileges, or from ``-x app_role=notifications_app`` / ``config.attributes["app_role"]``.

PostgreSQL only; a no-op on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from services.runtime import rls_migration

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("inbox_messages", "preferences", "templates", "deliveries", "processed_events")


def upgrade() -> None:
    rls_migration.enable(TABLES)


def downgrade() -> None:
    rls_migration.disable(TABLES)
