"""Row-level security on every table by tenant, behind the queries' own tenant filter.

Each table with a ``tenant`` column gets ENABLE and FORCE ROW LEVEL SECURITY and one policy for
every command: a row is visible and writable only when its ``tenant`` equals the setting
``aizu.tenant``, which the runtime sets at the start of each transaction of a request
(``services/runtime/rls.py``). Unset, no row matches. FORCE binds the tables' owner too (the
migration and seeding role in production); only superusers and BYPASSRLS roles skip policies,
and no role of ours has BYPASSRLS.

The app role's privileges: in production ``deploy/postgres/init.sql`` grants them by default
privileges. Where no such default exists (tests, a hand-made database), pass the role to grant
to: ``alembic -x app_role=procedures_app upgrade head`` or ``config.attributes["app_role"]``.
Without one, nothing is granted.

A later migration that must change rows of every town sets ``aizu.tenant`` town by town, or turns
FORCE off for its own transaction (``ALTER TABLE … NO FORCE ROW LEVEL SECURITY`` … ``FORCE``).

PostgreSQL only; a no-op on SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from services.runtime import rls_migration

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (
    "offered_procedures",
    "applications",
    "status_changes",
    "chain_heads",
    "attachments",
    "idempotency_keys",
    "outbox",
    "signing_keys",
)
#: Serial primary keys the app role inserts through.
SEQUENCES = (("status_changes", "id"), ("attachments", "id"))


def upgrade() -> None:
    rls_migration.enable(TABLES, SEQUENCES)


def downgrade() -> None:
    rls_migration.disable(TABLES)
