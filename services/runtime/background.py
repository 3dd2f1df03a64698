"""A task a service runs beside its endpoints (a relay, a sealer, a batch writer), started and
stopped with the service."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from nats.aio.client import Client


class Background(ABC):
    name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def begin(self, nc: Client) -> None:
        """Started by the service's runtime, on its connection (see ``services.runtime.service``)."""
        self.start()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    @abstractmethod
    async def _run(self) -> None:
        """Runs until cancelled."""
