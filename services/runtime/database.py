"""Engines, per-request sessions and Alembic migrations for a service's own database."""

from __future__ import annotations

import logging

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import String, event
from sqlalchemy.engine import Dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator


#: Constraint and index names every service's tables use, so migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

E = TypeVar("E", bound=StrEnum)


log = logging.getLogger(__name__)

class Named(TypeDecorator[E]):
    """A column of one of the contracts' StrEnums: stored as its value (the same text as on the
    wire, in a plain string column), read back as the member."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            # A value a newer copy wrote during a rolling deploy: kept as its text, so one row
            # cannot stop a whole read (a sender's claim across every town, alerts among them).
            log.warning("%s holds %r, not one of %s", self.enum.__name__, value, [m.value for m in self.enum])
            return value  # type: ignore[no-any-return]


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive ones; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def create_engine(url: str, *, sqlite_connections: int = 1) -> AsyncEngine:
    """The engine a service writes with.

    SQLite allows one writer at a time; its other connections would wait in SQLite's busy loop
    (sleeping up to 100 ms a turn), so writers share one connection and queue in the pool instead.
    Reads get their own engine from :func:`create_reader`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=sqlite_connections, max_overflow=0, pool_timeout=60
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - exercised via connect
            # WAL lets readers proceed while one writer commits; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # No pre-ping (a round trip per checkout); recycling bounds a connection's age instead.
    return create_async_engine(url, pool_size=20, max_overflow=0, pool_recycle=1800, pool_timeout=60)


def create_reader(engine: AsyncEngine, *, transaction_pooling: bool) -> AsyncEngine:
    """The engine read-only requests use.

    PostgreSQL: the same pool in autocommit, which saves the BEGIN/ROLLBACK round trips; not behind
    a pooler in transaction mode (``transaction_pooling``): there, statements outside a transaction
    may each run on another server connection, so the tenant set on one would not reach the next
    (reads would come back empty, or as another town). Reads then run in a transaction, like writes.
    SQLite: a few more connections of its own; with WAL they read while the writer commits.
    """
    if engine.dialect.name == "sqlite":
        return create_engine(engine.url.render_as_string(hide_password=False), sqlite_connections=4)
    if transaction_pooling:
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def migrate(migrations_dir: Path, url: str, revision: str = "head", app_role: str | None = None) -> None:
    """Apply a service's Alembic migrations to ``url`` (sync entry point; Alembic runs its own loop).

    ``app_role``: a PostgreSQL role the migrations grant the service's privileges to, where no
    default privileges do (production's ``init.sql`` does).
    """
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = url
    if app_role:
        config.attributes["app_role"] = app_role
    command.upgrade(config, revision)


async def idle(session: AsyncSession) -> None:
    """End the implicit transaction of earlier reads, so the next block owns its transaction."""
    if session.in_transaction():
        await session.rollback()
