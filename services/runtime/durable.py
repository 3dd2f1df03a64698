"""A durable pull consumer of the platform's events: bound on start, unbound on stop, and a way
for tests and benchmarks to wait until it has handled everything in the stream.

Every service that turns events into its own rows (the applicants' messages, a broadcast's
fan-out, the towns' figures) consumes this way: explicit ack, a durable name shared by all copies
of the service (so each event goes to one copy), and redelivery with backoff for what was not acked.
The parts every consumer shares live here once: fetching (NATS away: our place is kept, fetch
again shortly), reading an event (the town is the subject's; an unreadable event, or one that
names another town, is dropped), and what a failure costs (a nak with the consumer's delay, and
what is done once the last attempt failed).
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from contracts import subjects
from services.runtime import streams
from services.runtime.background import Background

log = logging.getLogger(__name__)

Event = TypeVar("Event")


class DurableConsumer(Background, Generic[Event]):
    #: Seconds before each further attempt at an event that failed (the last one repeats).
    backoff: tuple[float, ...] = (5, 30, 120, 600)

    def __init__(self, durable: str, filter_subject: str, event_type: type[Event], towns: Iterable[str]) -> None:
        """``towns``: whose events are believed (an event of any other is dropped)."""
        super().__init__()
        self.name = durable
        self.durable = durable
        self.filter_subject = filter_subject
        self._decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(event_type)
        self._believed = frozenset(towns)
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self.handled = 0

    @abstractmethod
    def config(self) -> ConsumerConfig:
        """The consumer's settings (ack policy, backoff), applied when it is first created."""

    @abstractmethod
    async def handle(self, m: Msg) -> None:
        """One delivered event, acked once recorded; a failure raises (see :meth:`guarded`)."""

    async def subscribe(self, js: JetStreamContext) -> None:
        """Bind to the durable consumer (created on first start; later starts and other copies
        bind to the same one), then start consuming. The service made the stream when it started."""
        self._js = js
        self._sub = await js.pull_subscribe(
            self.filter_subject, durable=self.durable, stream=streams.EVENTS.name, config=self.config()
        )
        self.start()

    async def begin(self, nc: Client) -> None:
        await self.subscribe(nc.jetstream())

    async def stop(self) -> None:
        await super().stop()
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection may be gone already
                pass

    async def fetch(self, batch: int) -> list[Msg]:
        """Up to ``batch`` events; none after a second without any, or while NATS is away (the
        durable consumer keeps our place: the caller simply fetches again)."""
        assert self._sub is not None, "not subscribed"
        try:
            return await self._sub.fetch(batch, timeout=1.0)
        except TimeoutError:  # nothing new within the wait (nats' TimeoutError is one too)
            return []
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: fetching failed (%s: %s); retrying", self.durable, type(exc).__name__, exc)
            await asyncio.sleep(1.0)
            return []

    async def readable(self, m: Msg) -> Event | None:
        """The event, or None after dropping (term) one that is unreadable or lies about its town."""
        try:
            tenant = subjects.event_tenant(m.subject)
            event: Any = self._decoder.decode(m.data)
        except (ValueError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("%s: unreadable event on %s dropped: %s", self.durable, m.subject, exc)
            await m.term()
            return None
        # The tenant is the subject's; an event that claims another town is not believed.
        if event.tenant != tenant or tenant not in self._believed:
            log.error("%s: event %s on %s names town %r: dropped", self.durable, event.event_id, m.subject, event.tenant)
            await m.term()
            return None
        return event  # type: ignore[no-any-return]

    def retry_delay(self, attempt: int) -> float | None:
        """Seconds before the next attempt at an event whose ``attempt``-th failed; None: that was
        the last one (see :meth:`gave_up`)."""
        return self.backoff[min(attempt, len(self.backoff)) - 1]

    async def gave_up(self, m: Msg, attempt: int, reason: str) -> None:
        """The last attempt at ``m`` failed (a consumer with a dead-letter queue publishes it there)."""

    async def guarded(self, m: Msg) -> None:
        """:meth:`handle`, a failure nak'ed for another attempt after :meth:`retry_delay`."""
        try:
            await self.handle(m)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt = m.metadata.num_delivered if m.metadata else 1
            delay = self.retry_delay(attempt)
            if delay is None:
                log.exception("%s: event %s failed its last attempt (%d)", self.durable, m.subject, attempt)
                await self.gave_up(m, attempt, f"{type(exc).__name__}: {exc}"[:500])
                return
            log.exception("%s: event %s failed (attempt %d); again in %gs", self.durable, m.subject, attempt, delay)
            try:
                await m.nak(delay=delay)
            except Exception:  # noqa: BLE001 - JetStream redelivers after the ack wait anyway
                pass

    async def caught_up(self, timeout: float = 10.0) -> None:
        """Wait until every event in the stream has been handled and acked (tests, benchmarks)."""
        assert self._js is not None, "not started"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            info = await self._js.consumer_info(streams.EVENTS.name, self.durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"{self.durable}: {info.num_pending} pending, {info.num_ack_pending} unacked")
            await asyncio.sleep(0.05)
