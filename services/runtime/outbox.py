"""The transactional outbox: events committed with the change, then relayed to JetStream.

A handler adds an outbox row in the same transaction as its state change. The relay publishes
unpublished rows with ``Nats-Msg-Id`` set to the row id, so JetStream drops a duplicate when a
row is published twice (after a crash between publish and marking, or by two copies of the
service), and marks them published only after JetStream acknowledged them. Nothing is lost if
the service or NATS stops between commit and publish: the rows wait in the database.

The relay publishes every town's events, yet the outbox has row-level security by tenant like
every other table, and the app role cannot bypass it. So it goes town by town: one transaction
per pass, switching ``aizu.tenant`` to each town of ``tenants`` (the towns the service is
configured for) before reading that town's rows (see ``services/runtime/rls.py``). A commit that
names its town in :meth:`OutboxRelay.notify` is published by a pass over that town alone; the
periodic poll goes over all of them. Rows of a town that is no longer configured stay unpublished.
Without ``tenants``, or on SQLite (no row-level security), a pass reads all rows at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from nats.js import JetStreamContext
from sqlalchemy import DateTime, Index, LargeBinary, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from services.runtime import rls
from services.runtime.town_worker import TownWorker

log = logging.getLogger(__name__)

class OutboxMixin:
    """Columns of a service's ``outbox`` table (each service keeps its own, in its own database)."""

    __tablename__ = "outbox"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index("ix_outbox_unpublished", "published_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


E = TypeVar("E", bound=OutboxMixin)


def new_event(model: type[E], tenant: str, subject: str, payload: bytes, event_id: str | None = None) -> E:
    return model(
        id=event_id or str(uuid.uuid4()), tenant=tenant, subject=subject, payload=payload, created_at=datetime.now(UTC)
    )


class OutboxRelay(TownWorker):
    name = "outbox relay"

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        model: type[OutboxMixin],
        js: JetStreamContext,
        batch: int = 500,
        poll_seconds: float = 1.0,
        tenants: Iterable[str] | None = None,
    ) -> None:
        """``tenants``: every town whose rows to publish, one at a time (row-level security)."""
        super().__init__(tenants, poll_seconds)
        self._sessions = sessions
        self._model = model
        self._js = js
        self._batch = batch
        self.published = 0

    async def work(self, towns: Sequence[str] | None) -> None:
        while await self.relay_once(towns):
            pass

    async def relay_once(self, tenants: Sequence[str] | None = None) -> int:
        """Publish one batch per town (``tenants``, default all); returns how many rows were published."""
        published = 0
        async with self._sessions() as session, session.begin():
            if self.towns is None or session.bind.dialect.name != "postgresql":
                published = await self._publish(session, None)  # no row-level security: all at once
            else:
                for tenant in self.towns if tenants is None else tenants:
                    await rls.use_tenant(session, tenant)
                    published += await self._publish(session, tenant)
        self.published += published
        return published

    async def _publish(self, session: AsyncSession, tenant: str | None) -> int:
        model = self._model
        query = select(model.id, model.subject, model.payload).where(model.published_at.is_(None))
        if tenant is not None:
            query = query.where(model.tenant == tenant)
        query = query.order_by(model.created_at).limit(self._batch)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # copies of the service share the work
        rows = (await session.execute(query)).all()
        if not rows:
            return 0
        results = await asyncio.gather(
            *(self._js.publish(r.subject, r.payload, headers={"Nats-Msg-Id": r.id}) for r in rows),
            return_exceptions=True,
        )
        acked = [r.id for r, result in zip(rows, results, strict=True) if not isinstance(result, BaseException)]
        failed = [(r, result) for r, result in zip(rows, results, strict=True) if isinstance(result, BaseException)]
        if failed:
            # One row JetStream refuses (no stream takes its subject) must not hold back the rest.
            row, error = failed[0]
            log.warning("%d outbox rows not published (e.g. %s to %s: %r)", len(failed), row.id, row.subject, error)
        if acked:
            await session.execute(
                update(model)
                .where(model.id.in_(acked))
                .values(published_at=datetime.now(UTC))
                .execution_options(synchronize_session=False)
            )
        if failed and not acked:
            raise failed[0][1]  # NATS itself is away: back off
        return len(acked)
