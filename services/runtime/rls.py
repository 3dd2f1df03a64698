"""Row-level security: every database transaction a request opens carries the request's tenant.

PostgreSQL checks each row against the policy ``tenant = current_setting('aizu.tenant', true)``
(migration ``0004_row_level_security`` of the procedures service). It is the second line behind
the queries' own ``WHERE tenant = …``: a query that forgets its filter sees and changes only the
request's town, and a session that names no town sees nothing at all (fail closed). SQLite has
no row-level security; there all of this is a no-op.

How the tenant reaches PostgreSQL
    :class:`TenantSession` (the sessions :func:`sessionmaker` makes, and so every request's
    session) states ``session.info["tenant"]`` at the start of each of its transactions, in an
    ``after_begin`` event:

    * in a transaction: ``set_config('aizu.tenant', :tenant, true)``, transaction-local, gone at
      COMMIT/ROLLBACK, so nothing leaks to the next user of the pooled connection;
    * on the read-only path (``isolation_level=AUTOCOMMIT``, no transaction to be local to):
      ``set_config(…, false)`` on the connection, remembered in the pooled connection's ``info``
      and sent again only when the tenant differs. A read for the town the connection last
      served costs no extra round trip; a read for another town costs one. There is no reset at
      check-in: a stale value on an idle connection is harmless, because every TenantSession
      states its own tenant before its first statement (and inside a transaction the local
      setting wins).

    Measured on the embedded PostgreSQL 18 (asyncpg, Unix socket, this 2-core machine; a new
    session, one indexed SELECT, close; best of 7 × 4,000): 739 µs per read before; 781 µs when
    the connection last served the same town; 858 µs when every read is for another town; a
    reset at check-in instead of remembering: 1,247 µs; a transaction per read (BEGIN, set local,
    SELECT, COMMIT): 1,148 µs. The setting goes straight through the driver's cursor: 135 µs a
    call against 230–260 µs through SQLAlchemy's statement machinery.

    Behind a pooler in transaction mode (PgBouncer) a connection-level setting does not stay
    with the next statement, so there (``AIZU_DATABASE_TRANSACTION_POOLING=1``) reads run in a
    transaction too (``database.create_reader``).

    So every session on a service's engine must be a :class:`TenantSession`; the plain sessions
    of ``aizu seed`` and ``aizu audit verify`` use their own engine (the owner's URL) and name
    their town with :func:`use_tenant`.

Work that spans towns
    Nobody bypasses the policy: the app roles are NOBYPASSRLS, and the tables FORCE row-level
    security, so their owner (``<service>_owner``, which runs migrations and seeding) is bound
    too; only a superuser (the tests' ``postgres``) is not. Work over every town therefore goes
    town by town, switching with :func:`use_tenant` inside its transaction:

    * the outbox relay publishes each town's rows under that town (``OutboxRelay(tenants=…)``,
      the town list from the region's configuration);
    * seeding writes each town's catalog, chain head and signing key under that town;
    * verifying a receipt reads the signing key as the town that issued it, whatever the host;
    * a migration that must change rows of every town does the same, or turns the policy off for
      its own transaction as the owner (``ALTER TABLE … NO FORCE ROW LEVEL SECURITY`` … ``FORCE``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

#: The PostgreSQL setting the policies compare ``tenant`` with.
SETTING = "aizu.tenant"
#: The key of ``Session.info`` that names the session's tenant.
TENANT = "tenant"
#: The driver's placeholder for one positional parameter, by DB-API paramstyle.
_PLACEHOLDER = {"numeric_dollar": "$1", "format": "%s", "pyformat": "%s", "qmark": "?", "numeric": ":1"}


class TenantSession(Session):
    """A session whose every transaction runs as ``info["tenant"]`` (no tenant: no rows)."""


def sessionmaker(engine: AsyncEngine, **options: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` that carry their tenant: ``sessions(info={"tenant": slug})``."""
    return async_sessionmaker(engine, sync_session_class=TenantSession, **options)


def _autocommit(connection: Connection) -> bool:
    return bool(getattr(connection.connection.dbapi_connection, "autocommit", False))


def _set_config(connection: Connection, tenant: str, *, local: bool) -> None:
    # Straight through the driver's cursor: it runs before every transaction and on most reads,
    # and SQLAlchemy's statement machinery would double its cost (~130 µs against ~250 µs here).
    placeholder = _PLACEHOLDER[connection.dialect.paramstyle]
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT set_config('{SETTING}', {placeholder}, {'true' if local else 'false'})", (tenant,))
    finally:
        cursor.close()


def apply(connection: Connection, tenant: str) -> None:
    """Make ``tenant`` the one PostgreSQL checks rows against on ``connection`` from now on."""
    if connection.dialect.name != "postgresql":
        return
    if not _autocommit(connection):
        _set_config(connection, tenant, local=True)
    elif connection.info.get(SETTING) != tenant:
        # Forget the remembered value first: if the statement fails, the next use re-sends it.
        connection.info.pop(SETTING, None)
        _set_config(connection, tenant, local=False)
        connection.info[SETTING] = tenant


@event.listens_for(TenantSession, "after_begin")
def _scope_transaction(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    apply(connection, session.info.get(TENANT) or "")


async def use_tenant(session: AsyncSession, tenant: str) -> None:
    """Go on as ``tenant`` in this session, within its current transaction if it has one.

    For work that spans towns (seeding, the outbox relay, checking each town's chain). Pending
    changes are flushed first, so rows added for the previous town are written as that town.
    Works with any session: a :class:`TenantSession` that has not begun yet just remembers it.
    """
    await session.flush()
    session.info[TENANT] = tenant
    if isinstance(session.sync_session, TenantSession) and not session.in_transaction():
        return  # its next transaction begins as ``tenant``
    connection = await session.connection()
    await connection.run_sync(apply, tenant)
