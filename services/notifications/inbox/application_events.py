"""The procedures' application events, turned into the applicant's inbox message and deliveries.

A durable JetStream pull consumer with explicit ack. Each event is handled in one transaction
that records its ``event_id`` together with the message it causes, so an event delivered twice
(JetStream redelivers what was not acked; the relay may publish a row twice, outside the stream's
duplicate window or under another ``Nats-Msg-Id``) makes one message: the second copy finds its
id recorded, or loses the race on the primary key, and is only acked. The ack follows the commit;
a crash in between redelivers the event, which is then found recorded.

An event that fails (the database away) is nak'ed with a growing delay and tried again up to
``MAX_DELIVER`` times; JetStream itself redelivers, on the same schedule, one whose ack never came.
An event that failed its last attempt is published as a dead letter
(``aizu.dlq.<town>.notifications.event``, stream AIZU_DEAD_LETTERS, for the town's admins) and
terminated, instead of sitting in the stream unseen.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import subjects
from contracts.applications import ApplicationEvent, ApplicationStatusChanged, ApplicationSubmitted, Status
from contracts.notifications import DeadLetter
from contracts.tenants import Region
from services.notifications.delivery import routing
from services.notifications.inbox import templates
from services.notifications.inbox.town_templates import texts_for
from services.notifications.models import InboxRow, ProcessedEvent
from services.runtime import rls
from services.runtime.durable import DurableConsumer

log = logging.getLogger(__name__)

DURABLE = "notifications-applications"
FILTER = f"{subjects.PREFIX}.{subjects.EVENTS}.*.application.>"
#: Seconds before each further attempt at an event that failed or was never acked.
BACKOFF: tuple[float, ...] = (5, 30, 120, 600)
MAX_DELIVER = len(BACKOFF) + 1


def consumer_config(durable: str = DURABLE, backoff: tuple[float, ...] = BACKOFF) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable,
        description="applicants hear of their applications (notifications service)",
        filter_subject=FILTER,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=len(backoff) + 1,
        backoff=list(backoff),
        max_ack_pending=2000,
    )


class ApplicationEvents(DurableConsumer[ApplicationSubmitted | ApplicationStatusChanged]):

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: Region,
        on_delivery: Callable[[str], None] = lambda tenant: None,
        batch: int = 100,
        concurrency: int = 16,
        durable: str = DURABLE,
        backoff: tuple[float, ...] = BACKOFF,
    ) -> None:
        """``on_delivery(tenant)``: a delivery of that town was committed (wakes the sender)."""
        super().__init__(durable, FILTER, ApplicationEvent, (t.slug for t in region.towns))  # type: ignore[arg-type]
        self._sessions = sessions
        self._region = region
        self._towns = {t.slug: t for t in region.towns}
        self._on_delivery = on_delivery
        self._batch = batch
        self.backoff = backoff
        self.dead_letters = 0
        self._slots = asyncio.Semaphore(concurrency)
        self.duplicates = 0

    def config(self) -> ConsumerConfig:
        return consumer_config(self.durable, self.backoff)

    async def _run(self) -> None:
        while True:
            await asyncio.gather(*(self._one(m) for m in await self.fetch(self._batch)))

    async def _one(self, m: Msg) -> None:
        async with self._slots:
            await self.guarded(m)

    def retry_delay(self, attempt: int) -> float | None:
        return None if attempt > len(self.backoff) else super().retry_delay(attempt)

    async def gave_up(self, m: Msg, attempt: int, reason: str) -> None:
        """Publish the event as a dead letter, then terminate it (left as is if NATS is away: redelivered)."""
        assert self._js is not None
        try:
            tenant = subjects.event_tenant(m.subject)
        except ValueError:  # a subject no event has (its term failed): the letter still goes
            tenant = "unknown"
        seq = m.metadata.sequence.stream if m.metadata else 0
        letter_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dead-event/{self.durable}/{seq}"))
        letter = DeadLetter(
            id=letter_id, tenant=tenant, source="event", reason=reason, attempts=attempt,
            occurred_at=datetime.now(UTC), event_subject=m.subject, event=m.data.decode("utf-8", "replace"),
        )
        try:
            await self._js.publish(
                subjects.dead_letter(tenant, subjects.NOTIFICATIONS, "event"), msgspec.json.encode(letter),
                headers={"Nats-Msg-Id": letter_id},
            )
            await m.term()
            self.dead_letters += 1
        except Exception:  # noqa: BLE001
            log.exception("dead letter of %s not published; the event stays", m.subject)

    async def handle(self, m: Msg) -> None:
        """One delivered event: record it with its message in one transaction, then ack."""
        event = await self.readable(m)
        if event is None:
            return
        queued = await self.record(event.tenant, event)
        await m.ack()
        self.handled += 1
        if queued:
            self._on_delivery(event.tenant)

    async def record(self, tenant: str, event: ApplicationSubmitted | ApplicationStatusChanged) -> bool:
        """Record the event and write its message; returns whether a delivery was queued.

        A copy of an event already recorded writes nothing.
        """
        now = datetime.now(UTC)
        async with self._sessions(info={rls.TENANT: tenant}) as session:
            try:
                async with session.begin():
                    if await session.get(ProcessedEvent, (tenant, event.event_id)) is not None:
                        self.duplicates += 1
                        return False
                    session.add(ProcessedEvent(tenant=tenant, event_id=event.event_id, processed_at=now))
                    if not event.applicant_subject:
                        return False  # a counter filing for someone without an account: nobody to tell
                    return await self._message(session, tenant, event, event.applicant_subject, now)
            except IntegrityError:
                # Another copy of the event (or of the service) recorded it a moment ago.
                self.duplicates += 1
                return False

    async def _message(
        self, session: AsyncSession, tenant: str, event: ApplicationSubmitted | ApplicationStatusChanged,
        recipient: str, now: datetime,
    ) -> bool:
        kind = templates.STATUS_CHANGED if isinstance(event, ApplicationStatusChanged) else templates.SUBMITTED
        # A status change with the caseworker's words takes the default written for its status.
        status, said = (event.to_status, event.comment) if isinstance(event, ApplicationStatusChanged) else (None, "")
        texts = templates.render_all(await texts_for(session, tenant, kind, status, said), *self._values(tenant, event))
        message = InboxRow(
            id=str(uuid.uuid4()), tenant=tenant, recipient=recipient, kind=kind, event_id=event.event_id,
            application_id=event.application_id, title_ja=texts.title_ja, body_ja=texts.body_ja,
            title_en=texts.title_en, body_en=texts.body_en, created_at=now, read_at=None,
        )
        session.add(message)
        # The first outbound channel that can reach the resident; the ones after it are its fallbacks.
        return bool(await routing.plan(session, tenant, recipient, message.id, now))

    def _values(
        self, tenant: str, event: ApplicationSubmitted | ApplicationStatusChanged
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The placeholders' values in Japanese and in English."""
        town = self._towns[tenant]
        standard = self._region.standard(event.code)
        status = event.to_status if isinstance(event, ApplicationStatusChanged) else Status.RECEIVED
        previous = event.from_status if isinstance(event, ApplicationStatusChanged) else None
        due_on = event.due_on if isinstance(event, ApplicationStatusChanged) else None
        # The caseworker's words as they wrote them, in both languages (only staff moves carry any).
        message = event.comment if isinstance(event, ApplicationStatusChanged) else ""
        ja = {
            "procedure_name": standard.name_ja if standard else event.code,
            "status": templates.STATUS_LABELS.get(status, (status, status))[0],
            "previous_status": templates.STATUS_LABELS.get(previous, (previous, previous))[0] if previous else "—",
            "town_name": town.name_ja,
            "application_id": event.reference or event.application_id,
            "due_on": f"{due_on.year}年{due_on.month}月{due_on.day}日" if due_on else "未定",
            "message": message,
        }
        en = {
            "procedure_name": standard.name_en if standard else event.code,
            "status": templates.STATUS_LABELS.get(status, (status, status))[1],
            "previous_status": templates.STATUS_LABELS.get(previous, (previous, previous))[1] if previous else "—",
            "town_name": town.name_en,
            "application_id": event.reference or event.application_id,
            "due_on": due_on.isoformat() if due_on else "not set",
            "message": message,
        }
        return ja, en
