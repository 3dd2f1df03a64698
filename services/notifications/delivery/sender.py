"""The sender: drains due deliveries of every channel, fairly across towns, within rate limits.

Each pass claims a batch in one transaction, town by town (row-level security), marks the rows
``sending`` and commits; hands each channel (email, push, webhook) its part, all at once; then
records every outcome in one transaction:

* ``delivered``: done; a ``delivery.finished`` event goes into the outbox with it;
* ``temporary-failure``: tried again after the next delay of ``retry_backoff``; after the last
  attempt it becomes ``permanent-failure`` and also a dead letter (``aizu.dlq.<town>.notifications.delivery``);
* ``permanent-failure``: ``delivery.finished`` too, and the message falls back to the resident's
  next channel (``routing.py``); a push subscription the push service says is gone is removed.

Fairness: a pass first gives each (town, channel) an equal share of the batch; only what the
others left goes, in a second round, to those that had more. The town to start with turns with
each pass. So a town with 100,000 queued broadcast mails takes most of each pass, yet another
town's single status mail goes in the next pass. Rate limits (``ratelimit.py``) cap each
(town, channel); a limited town waits for its tokens while the others go on.

Emergencies first: each (town, channel) fills its part of a pass with its due emergency alerts
(``broadcast.emergency``) before anything else, taking their tokens from a bucket of their own,
and only then takes every kind in queue order from the ordinary bucket. An alert queued behind
100,000 announcement mails, of a town whose ordinary bucket is empty, goes in the next pass. The
alerts are found through their inbox messages (the delivery rows do not carry the kind), among
those of the last ``EMERGENCY_WINDOW``: the inbox keeps every alert ever sent, and the look must
not grow with them. Quiet hours do not hold alerts back either (``broadcasts/lanes.py`` queues them
due at once).

A sender that dies between claiming and recording leaves rows ``sending``; after
``lease_seconds`` another pass claims them again (at least once, never none).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import msgspec
from sqlalchemy import ColumnElement, and_, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import notifications as msg
from contracts.notifications import DeliveryStatus, OutboundChannel
from contracts import subjects
from contracts.tenants import Region
from services.notifications.delivery import routing
from services.notifications.delivery.outgoing import Outcome, Outgoing, PushTarget, Subscription, WebhookTarget
from services.notifications.delivery.ratelimit import Limits
from services.notifications.models import DeliveryRow, InboxRow, OutboxRow, PushSubscriptionRow, WebhookRow
from services.runtime import rls
from services.runtime.database import utc
from services.runtime.outbox import new_event
from services.runtime.town_worker import TownWorker

log = logging.getLogger(__name__)

DUE = (DeliveryStatus.CREATED, DeliveryStatus.TEMPORARY_FAILURE)
CHANNELS = tuple(OutboundChannel)
EMERGENCY = "broadcast.emergency"
#: How far back the emergency claim looks for alerts. Far beyond the retry schedule and the
#: fallbacks (hours): an alert older than that still goes, in queue order like any message.
EMERGENCY_WINDOW = timedelta(days=1)
_ENCODER = msgspec.json.Encoder()


class Channel(Protocol):
    name: str

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]: ...

    async def close(self) -> None: ...


class Sender(TownWorker):
    name = "notifications-sender"
    #: Claimed deliveries are sent and recorded before the service stops.
    grace = 15.0

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: Region,
        channels: Mapping[str, Channel],
        retry_backoff: tuple[float, ...],
        limits: Limits | None = None,
        batch: int = 200,
        poll_seconds: float = 1.0,
        lease_seconds: float = 600.0,
        on_outbox: Callable[[str], None] = lambda town: None,
    ) -> None:
        super().__init__((t.slug for t in region.towns), poll_seconds)
        self._sessions = sessions
        self._towns: tuple[str, ...] = self.towns or ()
        self.channels = dict(channels)
        self.retry_backoff = retry_backoff
        self.limits = limits or Limits({})
        self._batch = batch
        self._lease = timedelta(seconds=lease_seconds)
        self._on_outbox = on_outbox
        self._turn = 0
        self._timers: set[asyncio.TimerHandle] = set()
        self.sent = 0

    # -- running -------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Finish the pass in progress (claimed deliveries are sent and recorded), then stop."""
        for timer in self._timers:
            timer.cancel()
        await super().stop()
        for channel in self.channels.values():
            await channel.close()

    async def work(self, towns: Sequence[str] | None) -> None:
        while not self.stopping and await self.drain_once(towns):
            towns = None  # while there is work, every town gets its share of each pass

    async def drain_once(self, towns: Sequence[str] | None = None) -> int:
        """Claim, send and record one batch (of ``towns``, default all); returns how many were tried."""
        claimed = await self._claim(self._towns if towns is None else towns)
        if not claimed:
            return 0
        by_channel: dict[str, list[Outgoing]] = {}
        for item in interleaved(claimed):
            by_channel.setdefault(item.channel, []).append(item)
        outcomes: list[Outcome] = []
        results = await asyncio.gather(*(self._send(name, items) for name, items in by_channel.items()))
        for part in results:
            outcomes.extend(part)
        await self._record(claimed, outcomes)
        return len(claimed)

    async def _send(self, name: str, items: list[Outgoing]) -> list[Outcome]:
        channel = self.channels.get(name)
        if channel is None:
            return [i.outcome(DeliveryStatus.PERMANENT_FAILURE, f"channel {name} is not configured") for i in items]
        try:
            return await channel.send(items)
        except Exception as exc:  # noqa: BLE001 - a channel's own bug must not lose the others' outcomes
            log.exception("channel %s failed a whole batch", name)
            return [i.outcome(DeliveryStatus.TEMPORARY_FAILURE, f"{type(exc).__name__}: {exc}"[:500]) for i in items]

    # -- claiming ------------------------------------------------------------------------------

    async def _claim(self, towns: Sequence[str]) -> list[Outgoing]:
        now = datetime.now(UTC)
        claimed: list[Outgoing] = []
        if not towns:
            return claimed
        start = self._turn % len(towns)
        self._turn += 1
        order = [*towns[start:], *towns[:start]]
        async with self._sessions() as session, session.begin():
            share = max(1, self._batch // len(order))
            more: list[tuple[str, OutboundChannel]] = []
            alerting: set[str] = set()
            for town in order:
                await rls.use_tenant(session, town)
                if await self._has_alerts(session, town, now):
                    alerting.add(town)
                for channel in CHANNELS:
                    got = await self._claim_slot(session, town, channel, share, now, town in alerting, first_round=True)
                    claimed.extend(got)
                    if len(got) == share:
                        more.append((town, channel))
            # Second round: what the batch has left goes to those that had more than their share.
            while more and len(claimed) < self._batch:
                each = max(1, (self._batch - len(claimed)) // len(more))
                still: list[tuple[str, OutboundChannel]] = []
                for town, channel in more:
                    asked = min(each, self._batch - len(claimed))
                    got = await self._claim_slot(session, town, channel, asked, now, town in alerting)
                    claimed.extend(got)
                    if len(got) == asked:  # had more, and its rate limits were not what stopped it
                        still.append((town, channel))
                more = still
        return claimed

    async def _has_alerts(self, session: AsyncSession, town: str, now: datetime) -> bool:
        """Whether ``town`` has emergency messages of the last ``EMERGENCY_WINDOW``: one look a town
        and pass, so that towns without recent alerts cost no query a channel more. max(), read
        off the end of the index: for a LIMIT 1 look PostgreSQL may rather scan the table hoping
        for an early match, and read all of it when there is none."""
        newest = await session.scalar(select(func.max(InboxRow.created_at)).where(alerts_of(town)))
        return newest is not None and utc(newest) >= now - EMERGENCY_WINDOW

    async def _claim_slot(
        self, session: AsyncSession, town: str, channel: OutboundChannel, asked: int, now: datetime, alerts: bool,
        first_round: bool = False,
    ) -> list[Outgoing]:
        """Up to ``asked`` of one (town, channel): its emergencies first (if the town has ``alerts``),
        from their own bucket; then every kind in queue order, from the ordinary bucket."""
        got: list[Outgoing] = []
        for emergency in (True, False) if alerts else (False,):
            wanted = self.limits.available(town, channel, asked - len(got), emergency)
            if wanted > 0:
                got += await self._claim_some(session, town, channel, wanted, now, emergency)
            elif first_round and len(got) < asked:  # this bucket is empty: come back when it is not
                self._wake_when_tokens(town, channel, emergency)
        return got

    async def _claim_some(
        self, session: AsyncSession, town: str, channel: OutboundChannel, limit: int, now: datetime, emergency: bool = False,
    ) -> list[Outgoing]:
        if session.info.get(rls.TENANT) != town:  # the second round comes back to a town
            await rls.use_tenant(session, town)
        due = or_(
            and_(DeliveryRow.status.in_(DUE), DeliveryRow.next_attempt_at <= now),
            and_(DeliveryRow.status == DeliveryStatus.SENDING, DeliveryRow.updated_at < now - self._lease),
        )
        # The deliveries alone, then their messages by primary key: joined in one query, a planner
        # with stale statistics (right after a bulk insert) can scan every message per delivery.
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.tenant == town, DeliveryRow.channel == channel, due)
            .order_by(DeliveryRow.next_attempt_at)
            .limit(limit)
        )
        if emergency:  # as many messages to look at as recent alerts had recipients, whatever else is queued
            query = query.where(DeliveryRow.message_id.in_(
                select(InboxRow.id).where(alerts_of(town), InboxRow.created_at >= now - EMERGENCY_WINDOW)))
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # copies share the work
        deliveries = (await session.execute(query)).scalars().all()
        if not deliveries:
            return []
        messages = {m.id: m for m in (await session.execute(
            select(InboxRow).where(InboxRow.tenant == town, InboxRow.id.in_({d.message_id for d in deliveries}))
        )).scalars()}
        rows = [(d, messages[d.message_id]) for d in deliveries if d.message_id in messages]
        for orphan in (d for d in deliveries if d.message_id not in messages):  # nothing to send, ever
            orphan.status, orphan.next_attempt_at, orphan.last_error = DeliveryStatus.PERMANENT_FAILURE, None, "message not found"
        self.limits.take(town, channel, len(rows), emergency)
        targets = await self._targets(session, town, channel, {d.address for d, _ in rows})
        claimed = []
        for delivery, message in rows:
            delivery.status, delivery.attempts, delivery.updated_at = DeliveryStatus.SENDING, delivery.attempts + 1, now
            claimed.append(Outgoing(
                delivery_id=delivery.id, tenant=town, address=delivery.address, attempts=delivery.attempts,
                title_ja=message.title_ja, body_ja=message.body_ja, title_en=message.title_en, body_en=message.body_en,
                channel=channel, message_id=message.id, kind=message.kind, recipient=message.recipient,
                target=targets.get(delivery.address) if channel != OutboundChannel.EMAIL else None,
            ))
        return claimed

    async def _targets(
        self, session: AsyncSession, town: str, channel: OutboundChannel, ids: set[str],
    ) -> Mapping[str, PushTarget | WebhookTarget]:
        if channel == OutboundChannel.PUSH:  # addressed to the resident: every browser they subscribed
            rows = await session.execute(select(PushSubscriptionRow).where(
                PushSubscriptionRow.tenant == town, PushSubscriptionRow.subject.in_(ids)))
            found: dict[str, list[Subscription]] = {}
            for r in rows.scalars():
                found.setdefault(r.subject, []).append(Subscription(id=r.id, endpoint=r.endpoint, p256dh=r.p256dh, auth=r.auth))
            return {subject: PushTarget(tuple(subscriptions)) for subject, subscriptions in found.items()}
        if channel == OutboundChannel.WEBHOOK:
            rows = await session.execute(select(WebhookRow).where(WebhookRow.tenant == town, WebhookRow.id.in_(ids)))
            return {r.id: WebhookTarget(url=r.url, secret=r.secret) for r in rows.scalars()}
        return {}

    # -- recording -----------------------------------------------------------------------------

    async def _record(self, claimed: list[Outgoing], outcomes: list[Outcome]) -> None:
        now = datetime.now(UTC)
        items = {i.delivery_id: i for i in claimed}
        by_town: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            by_town.setdefault(outcome.tenant, []).append(self._final(outcome))
        queued: set[str] = set()
        async with self._sessions() as session, session.begin():
            for town, group in by_town.items():
                await rls.use_tenant(session, town)
                changes: list[dict[str, object]] = []
                events: list[OutboxRow] = []
                for o in group:
                    values: dict[str, object] = {"id": o.delivery_id, "status": o.status, "updated_at": now, "next_attempt_at": None}
                    if o.status == DeliveryStatus.TEMPORARY_FAILURE:
                        delay = self.retry_backoff[o.attempts - 1]
                        values["next_attempt_at"] = now + timedelta(seconds=delay)
                        self._wake_later(delay, town)
                    else:
                        events.append(self._finished(items[o.delivery_id], o, now))
                    if o.error is not None:
                        values["last_error"] = o.error
                    changes.append(values)
                await session.execute(update(DeliveryRow), changes)  # one statement, by primary key
                fell_back: set[tuple[str, str]] = set()
                gone = [s for o in group for s in o.gone]
                if gone:  # browsers the push service no longer knows, whatever became of the rest
                    await session.execute(delete(PushSubscriptionRow).where(
                        PushSubscriptionRow.tenant == town, PushSubscriptionRow.id.in_(gone)))
                for o in group:
                    if o.status != DeliveryStatus.PERMANENT_FAILURE:
                        continue
                    item = items[o.delivery_id]
                    if o.gave_up:
                        events.append(self._dead_letter(item, o, now))
                    key = (item.message_id, item.channel)
                    if key in fell_back or not await routing.falls_back(session, town, item.message_id, item.channel, item.delivery_id):
                        continue
                    fell_back.add(key)
                    if await routing.plan(session, town, item.recipient, item.message_id, now, after=item.channel):
                        queued.add(town)
                session.add_all(events)
        self.sent += sum(o.status == DeliveryStatus.DELIVERED for o in outcomes)
        for town in by_town:
            self._on_outbox(town)
        for town in queued:
            self.notify(town)

    def _final(self, o: Outcome) -> Outcome:
        """A temporary failure on the last attempt is a permanent one."""
        if o.status == DeliveryStatus.TEMPORARY_FAILURE and o.attempts > len(self.retry_backoff):
            return Outcome(o.delivery_id, o.tenant, o.attempts, DeliveryStatus.PERMANENT_FAILURE,
                           f"{o.error} (gave up after {o.attempts} attempts)"[-500:], o.gone, gave_up=True)
        if o.status != DeliveryStatus.DELIVERED:
            log.info("delivery %s of %s: %s (%s)", o.delivery_id, o.tenant, o.status, o.error)
        return o

    def _finished(self, item: Outgoing, o: Outcome, now: datetime) -> OutboxRow:
        event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"delivery.finished/{item.delivery_id}"))
        event = msg.DeliveryFinished(
            event_id=event_id, tenant=item.tenant, delivery_id=item.delivery_id, channel=item.channel,
            outcome=msg.Outcome(o.status),
            kind=item.kind, occurred_at=now,
        )
        subject = subjects.event(item.tenant, "delivery", "finished")
        return new_event(OutboxRow, item.tenant, subject, _ENCODER.encode(event), event_id)

    def _dead_letter(self, item: Outgoing, o: Outcome, now: datetime) -> OutboxRow:
        letter_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dead-letter/{item.delivery_id}"))
        letter = msg.DeadLetter(
            id=letter_id, tenant=item.tenant, source="delivery", reason=o.error or "", attempts=o.attempts,
            occurred_at=now, delivery_id=item.delivery_id, channel=item.channel, message_id=item.message_id,
        )
        subject = subjects.dead_letter(item.tenant, subjects.NOTIFICATIONS, "delivery")
        return new_event(OutboxRow, item.tenant, subject, _ENCODER.encode(letter), letter_id)

    # -- waking --------------------------------------------------------------------------------

    def _wake_later(self, delay: float, town: str) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def wake() -> None:
            self._timers.discard(timer)  # type: ignore[arg-type]
            self.notify(town)

        timer = loop.call_later(delay + 0.01, wake)
        self._timers.add(timer)

    def _wake_when_tokens(self, town: str, channel: str, emergency: bool = False) -> None:
        bucket = self.limits.bucket(town, channel, emergency)
        if bucket is not None:
            self._wake_later(min(self._poll, bucket.wait_for_one()), town)


def alerts_of(town: str) -> ColumnElement[bool]:
    """``town``'s emergency messages, as their partial index (``ix_inbox_messages_alerts``) has
    them. The kind is written into the SQL: PostgreSQL uses a partial index only where it sees the
    condition match the index's own, which a bound parameter of a prepared statement does not."""
    return and_(InboxRow.tenant == town, InboxRow.kind == literal(EMERGENCY, literal_execute=True))


def interleaved(items: list[Outgoing]) -> list[Outgoing]:
    """One of each town in turn: within a pass, a small town's message is not sent after a big one's hundreds."""
    by_town: dict[str, list[Outgoing]] = {}
    for item in items:
        by_town.setdefault(item.tenant, []).append(item)
    queues = sorted(by_town.values(), key=len)
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]
