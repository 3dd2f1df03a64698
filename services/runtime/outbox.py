"""The transactional outbox: events committed with the change, then relayed to JetStream.

A handler adds an outbox row in the same transaction as its state change. The relay publishes
unpublished rows with ``Nats-Msg-Id`` set to the row id, so JetStream drops a duplicate when a
row is published twice (after a crash between publish and marking, or by two copies of the
service), and marks them published only after JetStream acknowledged them. Nothing is lost if
the service or NATS stops between commit and publish: the rows wait in the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from nats.js import JetStreamContext
from sqlalchemy import DateTime, Index, LargeBinary, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

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


def new_event(model: type[OutboxMixin], tenant: str, subject: str, payload: bytes, event_id: str | None = None) -> OutboxMixin:
    return model(
        id=event_id or str(uuid.uuid4()), tenant=tenant, subject=subject, payload=payload, created_at=datetime.now(UTC)
    )


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        model: type[OutboxMixin],
        js: JetStreamContext,
        batch: int = 500,
        poll_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._model = model
        self._js = js
        self._batch = batch
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def notify(self) -> None:
        """A transaction with events has committed: publish soon rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while await self.relay_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                # NATS or the database is away; the rows stay unpublished and the next poll retries.
                log.warning("outbox relay failed; retrying", exc_info=True)
                await asyncio.sleep(self._poll)

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        model = self._model
        async with self._sessions() as session, session.begin():
            query = select(model).where(model.published_at.is_(None)).order_by(model.created_at).limit(self._batch)
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)  # copies of the service share the work
            rows = (await session.execute(query)).scalars().all()
            if not rows:
                return 0
            await asyncio.gather(
                *(self._js.publish(r.subject, r.payload, headers={"Nats-Msg-Id": r.id}) for r in rows)
            )
            await session.execute(
                update(model)
                .where(model.id.in_([r.id for r in rows]))
                .values(published_at=datetime.now(UTC))
                .execution_options(synchronize_session=False)
            )
        self.published += len(rows)
        return len(rows)
