"""The stand-in's webhooks: each event signed as Stripe signs it and posted to the town's
address, retried while the platform does not take it, and on command delayed, repeated, held
back and reordered."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)
#: Seconds between tries of an event the platform did not take (Stripe retries for days).
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)
#: Held events go out after this long even if fewer than ``hold`` have come.
HOLD_SECONDS = 2.0


def signature(payload: str, secret: str, at: int | None = None) -> str:
    """The ``Stripe-Signature`` header: ``t=<time>,v1=<HMAC-SHA256 of "<time>.<payload>">``."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


@dataclass
class Faults:
    #: Extra copies of every event.
    duplicate: int = 0
    #: Held events go out newest first.
    reorder: bool = False
    #: Hold events until this many have come (or :data:`HOLD_SECONDS`), then send them together.
    hold: int = 0
    #: Wait this long before each delivery.
    delay_seconds: float = 0.0


@dataclass
class Sender:
    #: The platform's webhook address; ``{tenant}`` is replaced by the event object's metadata.
    url_template: str
    secret: str
    faults: Faults = field(default_factory=Faults)
    #: Deliveries the platform answered with 2xx, by event type.
    delivered: Counter[str] = field(default_factory=Counter)
    _held: list[dict[str, Any]] = field(default_factory=list)
    _release: asyncio.TimerHandle | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    def queue(self, event: dict[str, Any]) -> None:
        """A new event, sent in the background (held first, if told to hold)."""
        if self.faults.hold:
            self._held.append(event)
            if len(self._held) >= self.faults.hold:
                self._flush()
            elif self._release is None:
                self._release = asyncio.get_running_loop().call_later(HOLD_SECONDS, self._flush)
            return
        self._send_copies(event)

    def _flush(self) -> None:
        if self._release is not None:
            self._release.cancel()
            self._release = None
        held, self._held = self._held, []
        for event in reversed(held) if self.faults.reorder else held:
            self._send_copies(event)

    def _send_copies(self, event: dict[str, Any]) -> None:
        for _ in range(1 + self.faults.duplicate):
            task = asyncio.get_running_loop().create_task(self._deliver(event, self.faults.delay_seconds))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def address(self, event: dict[str, Any]) -> str:
        tenant = (event["data"]["object"].get("metadata") or {}).get("tenant", "")
        return self.url_template.replace("{tenant}", tenant)

    async def _deliver(self, event: dict[str, Any], delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        for wait in (*RETRY_DELAYS, None):
            status = await self.post(event, self.address(event))
            if 200 <= status < 300:
                return
            if wait is None:
                log.warning("event %s (%s) not taken (last answer %d); given up", event["id"], event["type"], status)
                return
            await asyncio.sleep(wait)

    async def post(self, event: dict[str, Any], url: str) -> int:
        """One delivery of ``event`` to ``url``: the platform's HTTP status (0: not reached)."""
        payload = json.dumps(event)
        parts = urlsplit(url)
        headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature(payload, self.secret),
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
        if parts.hostname and parts.hostname.endswith(".localhost"):
            # A town's development address: its name on the Host header, the connection to loopback.
            headers["Host"] = parts.netloc
            url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port or 80}"))
        try:
            answer = await self._client.post(url, content=payload.encode(), headers=headers)
        except httpx.HTTPError as exc:
            log.info("event %s to %s: %s", event["id"], url, exc)
            return 0
        if 200 <= answer.status_code < 300:
            async with self._changed:
                self.delivered[event["type"]] += 1
                self._changed.notify_all()
        return answer.status_code

    async def wait_delivered(self, type_: str, count: int, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.delivered[type_] >= count), timeout)

    async def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
