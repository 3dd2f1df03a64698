"""A durable pull consumer of the platform's events: bound on start, unbound on stop, and a way
for tests and benchmarks to wait until it has handled everything in the stream.

Every service that turns events into its own rows (the applicants' messages, a broadcast's
fan-out, the towns' figures) consumes this way: explicit ack, a durable name shared by all copies
of the service (so each event goes to one copy), and redelivery with backoff for what was not acked.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod

from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from services.runtime import streams
from services.runtime.background import Background


class DurableConsumer(Background):
    def __init__(self, durable: str, filter_subject: str) -> None:
        super().__init__()
        self.name = durable
        self.durable = durable
        self.filter_subject = filter_subject
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None

    @abstractmethod
    def config(self) -> ConsumerConfig:
        """The consumer's settings (ack policy, backoff), applied when it is first created."""

    async def subscribe(self, js: JetStreamContext) -> None:
        """Bind to the durable consumer (created on first start; later starts and other copies
        bind to the same one), then start consuming."""
        await streams.ensure(js, streams.EVENTS)
        self._js = js
        self._sub = await js.pull_subscribe(
            self.filter_subject, durable=self.durable, stream=streams.EVENTS.name, config=self.config()
        )
        self.start()

    async def stop(self) -> None:
        await super().stop()
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection may be gone already
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
