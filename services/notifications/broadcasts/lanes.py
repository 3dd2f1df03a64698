"""The durable consumer that fans released broadcasts out, one town's work item at a time.

Each work item (``aizu.evt.<town>.broadcast.released``, committed with the release through the
outbox) is worked through in chunks (:mod:`services.notifications.broadcasts.fanout`), each committing its
cursor in ``broadcast_fanouts``. The item is acked once the town is done; while it works, each
committed chunk tells JetStream it is still in progress. If the service dies, JetStream delivers
the item again after ``ACK_WAIT`` (to this copy once restarted, or to another), and the fan-out
resumes at the committed cursor: nobody gets the message twice, nobody is skipped.

Two lanes, each its own durable consumer: emergency alerts (``…broadcast.emergency``) never queue
behind announcements or notice work (``…broadcast.released``). One shared queue in arrival order
once held a region-wide alert back for minutes behind the town fan-outs ahead of it; now an
alert's towns start as soon as it is released, whatever else is in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import subjects
from contracts.broadcasts import BroadcastKind, BroadcastReleased
from contracts.tenants import Region
from services.notifications.broadcasts import fanout
from services.notifications.broadcasts.tables import FanoutRow
from services.notifications.delivery.quiet_hours import release_at
from services.runtime import rls
from services.runtime.durable import DurableConsumer

log = logging.getLogger(__name__)

#: Seconds JetStream waits for an ack (or an in-progress word) before delivering the item again.
ACK_WAIT = 10.0

#: The longest wait between attempts at a broadcast's work item that keeps failing (seconds).
MAX_RETRY_DELAY = 60.0


@dataclass(frozen=True)
class Lane:
    """One durable consumer of fan-out work: which subjects, and how many towns at once."""

    durable: str
    #: The last token of the work items' subject (``aizu.evt.<town>.broadcast.<verb>``).
    verb: str
    concurrency: int
    description: str

    @property
    def filter_subject(self) -> str:
        return f"{subjects.PREFIX}.{subjects.EVENTS}.*.broadcast.{self.verb}"

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            description=self.description,
            filter_subject=self.filter_subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT,
            max_ack_pending=64,
        )


#: Announcements of towns: four towns at a time.
ANNOUNCEMENTS = Lane("notifications-broadcasts", "released", 4, "fan-out of announcements, town by town (notifications)")
#: Emergency alerts: every town of a region-wide alert at once.
ALERTS = Lane("notifications-alerts", "emergency", 13, "fan-out of emergency alerts, every town at once (notifications)")


class AlertsFirst:
    """Within one service copy: while an alert is being fanned out, announcements wait between
    chunks. The lanes keep an alert from queueing behind announcements in JetStream; this keeps
    it from queueing behind their chunks for the database (on SQLite all writers share one
    connection)."""

    def __init__(self) -> None:
        self._alerts = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @contextlib.asynccontextmanager
    async def alert(self) -> AsyncIterator[None]:
        self._alerts += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._alerts -= 1
            if not self._alerts:
                self._clear.set()

    async def turn(self) -> None:
        """An announcement's chunk may go: no alert is in progress."""
        await self._clear.wait()


def lane_of(kind: BroadcastKind) -> Lane:
    return ALERTS if kind == BroadcastKind.EMERGENCY else ANNOUNCEMENTS


def key_of(broadcast_id: str) -> str:
    return "b" + broadcast_id.replace("-", "")[:20]


class FanoutWorker(DurableConsumer[BroadcastReleased]):

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        region: Region,
        lane: Lane = ANNOUNCEMENTS,
        priority: AlertsFirst | None = None,
        on_delivery: Callable[[str], None] = lambda tenant: None,
        chunk: int = fanout.CHUNK,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(lane.durable, lane.filter_subject, BroadcastReleased, (t.slug for t in region.towns))
        self.lane = lane
        self._priority = priority or AlertsFirst()
        self._sessions = sessions
        self._towns = {t.slug: t for t in region.towns}
        self._on_delivery = on_delivery
        self._chunk = chunk
        self._clock = clock
        self.chunks = 0

    def config(self) -> ConsumerConfig:
        return self.lane.config()

    async def caught_up(self, timeout: float = 30.0) -> None:
        """Wait until every work item in the stream is done and acked (tests, benchmarks)."""
        await super().caught_up(timeout)

    async def _run(self) -> None:
        # Up to ``concurrency`` towns at once, each taken as soon as a slot frees: a region-wide
        # alert's small villages do not wait behind Aizuwakamatsu's 120,000 residents.
        assert self._sub is not None
        slots = asyncio.Semaphore(self.lane.concurrency)
        working: set[asyncio.Task[None]] = set()
        try:
            while True:
                await slots.acquire()
                try:
                    msgs = await self.fetch(1)
                except asyncio.CancelledError:
                    slots.release()
                    raise
                if not msgs:
                    slots.release()
                for m in msgs[:1]:
                    task = asyncio.create_task(self.guarded(m))
                    working.add(task)
                    task.add_done_callback(lambda t: (working.discard(t), slots.release()))
        finally:
            # Stopping: a chunk in progress rolls back; its item is delivered again after the ack wait.
            for task in working:
                task.cancel()
            await asyncio.gather(*working, return_exceptions=True)

    def retry_delay(self, attempt: int) -> float:
        # Never given up (an alert must go out once the database is back), but retried less
        # often the longer it fails: 2 s, 4 s, … up to a minute. It resumes at its cursor.
        return min(MAX_RETRY_DELAY, 2.0 * max(1, attempt))

    async def handle(self, m: Msg) -> None:
        item = await self.readable(m)
        if item is None:
            return

        async def still_working() -> None:
            try:
                await m.in_progress()
            except Exception:  # noqa: BLE001 - at worst the item is delivered again and resumes
                pass

        if item.kind == BroadcastKind.EMERGENCY:
            async with self._priority.alert():
                await self.run(item, still_working)
        else:
            await self.run(item, still_working)
        await m.ack()

    async def run(self, item: BroadcastReleased, heartbeat: Callable[[], Awaitable[None]]) -> None:
        """Fan ``item`` out in its town, from the committed cursor to the end."""
        tenant = item.tenant
        conditions: list[ColumnElement[bool]] = []
        if item.districts:
            conditions.append(fanout.RESIDENTS.c.district.in_(item.districts))
        message = fanout.Message(
            event_id=item.broadcast_id, key=key_of(item.broadcast_id), kind=f"broadcast.{item.kind}",
            title_ja=item.title_ja, body_ja=item.body_ja, title_en=item.title_en, body_en=item.body_en,
        )
        ident = (tenant, item.broadcast_id)
        async with self._sessions(info={rls.TENANT: tenant}) as session:
            try:
                async with session.begin():
                    if await session.get(FanoutRow, ident) is None:
                        session.add(FanoutRow(
                            tenant=tenant, broadcast_id=item.broadcast_id, origin=item.origin, cursor=0,
                            residents=await fanout.count(session, tenant, conditions), inbox=0, deliveries=0,
                            started_at=self._clock(), finished_at=None,
                        ))
            except IntegrityError:
                pass  # another copy started this town a moment ago; we share the cursor
            while True:
                queued = 0
                if item.kind != BroadcastKind.EMERGENCY:
                    await self._priority.turn()
                async with session.begin():
                    progress = await session.get(FanoutRow, ident, with_for_update=True, populate_existing=True)
                    assert progress is not None
                    if progress.finished_at is not None:
                        return
                    now = self._clock()
                    upto = await fanout.next_bound(session, tenant, conditions, progress.cursor, self._chunk)
                    if upto is None:
                        progress.finished_at = now
                    else:
                        # Emergencies go at once; the rest waits out the town's quiet hours.
                        send_after = release_at(now, self._towns[tenant].quiet_hours, emergency=item.kind == BroadcastKind.EMERGENCY)
                        written, queued = await fanout.write_chunk(
                            session, tenant, message, conditions, progress.cursor, upto, now, send_after
                        )
                        progress.cursor = upto
                        progress.inbox += written
                        progress.deliveries += queued
                self.chunks += 1
                if queued:
                    self._on_delivery(tenant)
                if upto is None:
                    return
                await heartbeat()
                # Let whoever waits for a connection have it before the next chunk: on SQLite all
                # writers share one, and a loop that gives it back and takes it again at once kept
                # requests (an alert's approval among them) waiting for seconds behind a fan-out.
                await asyncio.sleep(0)
