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

from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("inbox_messages", "preferences", "templates", "deliveries", "processed_events")
POLICY = "tenant_isolation"
SAME_TENANT = "tenant = current_setting('aizu.tenant', true)"


def app_role() -> str | None:
    return context.get_x_argument(as_dictionary=True).get("app_role") or context.config.attributes.get("app_role")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} FOR ALL USING ({SAME_TENANT}) WITH CHECK ({SAME_TENANT})")
    role = app_role()
    if role:
        quoted = bind.dialect.identifier_preparer.quote(role)
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {quoted}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
