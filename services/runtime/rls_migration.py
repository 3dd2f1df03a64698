"""The migration steps that put a service's tables under row-level security by tenant.

Each table gets ENABLE and FORCE ROW LEVEL SECURITY and one policy: a row is visible and
writable only when its ``tenant`` equals the setting ``aizu.tenant`` (set per transaction by
:mod:`services.runtime.rls`); unset, no row matches. PostgreSQL only; a no-op on SQLite.
The app role's privileges come from production's default privileges, or from
``-x app_role=<role>`` / ``config.attributes["app_role"]`` (tests).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import context, op

POLICY = "tenant_isolation"
SAME_TENANT = "tenant = current_setting('aizu.tenant', true)"


def app_role() -> str | None:
    return context.get_x_argument(as_dictionary=True).get("app_role") or context.config.attributes.get("app_role")


def enable(tables: Sequence[str], serial_columns: Sequence[tuple[str, str]] = ()) -> None:
    """``serial_columns``: (table, column) whose sequences the app role inserts through."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} FOR ALL USING ({SAME_TENANT}) WITH CHECK ({SAME_TENANT})")
    role = app_role()
    if role:
        quoted = bind.dialect.identifier_preparer.quote(role)
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(tables)} TO {quoted}")
        for table, column in serial_columns:
            sequence = bind.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table}', '{column}')").scalar_one()
            op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {quoted}")


def disable(tables: Sequence[str]) -> None:
    # Privileges stay: in production they come from init.sql's default privileges, and taking
    # them away would stop the app at the revision before.
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
