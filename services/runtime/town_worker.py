"""A background loop that works town by town: soon after a town's commit, and on a slow poll.

The outbox relay, the chain sealer and the notifications sender share it. A commit names its
town with ``notify(town)`` and the next pass covers that town alone; the poll (and any pass after
a failure) covers them all. A failure (NATS or the database away) is logged briefly and retried;
the work waits meanwhile. A worker with a ``grace`` finishes the pass in progress when stopped.
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections.abc import Iterable, Sequence

from services.runtime.background import Background

log = logging.getLogger(__name__)


class TownWorker(Background):
    name = "worker"
    #: Seconds a pass in progress has to finish when the worker stops (0: cancelled at once).
    grace = 0.0

    def __init__(self, towns: Iterable[str] | None, poll_seconds: float = 1.0) -> None:
        """``towns``: every town to work for (None: all rows at once, where no row-level security applies)."""
        super().__init__()
        self.towns: tuple[str, ...] | None = tuple(towns) if towns is not None else None
        self._poll = poll_seconds
        self._dirty: set[str] = set()
        self._everyone = True
        self._wake = asyncio.Event()
        self._stopping = False

    def notify(self, town: str | None = None) -> None:
        """Something committed for ``town`` (None: for any town): do the work soon."""
        if town is None or self.towns is None or town not in self.towns:
            self._everyone = True
        else:
            self._dirty.add(town)
        self._wake.set()

    @abstractmethod
    async def work(self, towns: Sequence[str] | None) -> None:
        """One pass over ``towns`` (None: all of them)."""

    @property
    def stopping(self) -> bool:
        """Stop was asked for: a pass that loops should end at its next step."""
        return self._stopping

    async def stop(self) -> None:
        if self._task is not None and self.grace > 0:
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), self.grace)
            except TimeoutError:
                pass  # cancelled below, mid-pass
        await super().stop()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll)
            except TimeoutError:
                self._everyone = True
            self._wake.clear()
            if self._stopping:
                return
            towns = None if self._everyone else sorted(self._dirty)
            self._everyone, self._dirty = False, set()
            try:
                await self.work(towns)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed (%s: %s); retrying", self.name, type(exc).__name__, exc)
                log.debug("%s failure", self.name, exc_info=True)
                self._everyone = True
                await asyncio.sleep(self._poll)
