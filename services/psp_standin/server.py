"""Running the stand-in: in a test, on the test's event loop (:func:`running_psp`), or as
``aizu serve psp`` for ``make dev`` (:func:`serve_psp`, configured by ``AIZU_PSP_*``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

import msgspec
import uvicorn
from msgspec import field

from services.psp_standin import SECRET_KEY, WEBHOOK_SECRET, api
from services.psp_standin.ledger import Ledger, public
from services.psp_standin.webhooks import Faults, Sender
from services.runtime import local_servers
from services.runtime.settings import PaymentSettings, load

log = logging.getLogger(__name__)
#: How often open pages past their time are expired.
SWEEP_SECONDS = 0.5


class Psp:
    """The stand-in and its controls (what a test does to it, and what it can ask of it)."""

    def __init__(self, url: str, webhook_url_template: str, secret_key: str = SECRET_KEY,
                 webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.url, self.secret_key, self.webhook_secret = url, secret_key, webhook_secret
        self.sender = Sender(webhook_url_template, webhook_secret)
        self.ledger = Ledger(base_url=url, notify=self.sender.queue)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far, oldest first: ``id``, ``type`` and ``body`` (what is posted)."""
        return [{"id": e["id"], "type": e["type"], "body": e} for e in self.ledger.events]

    def faults(self, *, duplicate: int = 0, reorder: bool = False, hold: int = 0, delay_seconds: float = 0.0) -> None:
        """How the notifications go from now on (no arguments: as they should)."""
        self.sender.faults = Faults(duplicate=duplicate, reorder=reorder, hold=hold, delay_seconds=delay_seconds)

    def expire_now(self, session_id: str) -> None:
        """The resident walked away and the page's time is up."""
        self.ledger.expire(session_id)

    async def delivered(self, type_: str, count: int, timeout: float = 15.0) -> None:
        """Until the platform has taken ``count`` deliveries of events of ``type_``."""
        await self.sender.wait_delivered(type_, count, timeout)

    async def resend(self, event_id: str) -> int:
        """Stripe's "resend" of an event, to its usual address; the platform's HTTP status."""
        event = self._event(event_id)
        return await self.sender.post(event, self.sender.address(event))

    async def deliver_to(self, event_id: str, url: str) -> int:
        """An event, rightly signed, posted to another address; the platform's HTTP status."""
        return await self.sender.post(self._event(event_id), url)

    async def balance_transactions(self) -> list[dict[str, Any]]:
        """The provider's own record of money in (``charge``) and out (``refund``), oldest first."""
        return [public(t) for t in self.ledger.balance]

    def _event(self, event_id: str) -> dict[str, Any]:
        return next(e for e in self.ledger.events if e["id"] == event_id)

    async def sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.ledger.sweep()


@asynccontextmanager
async def running_psp(webhook_url_template: str, host: str = "127.0.0.1", port: int = 0, secret_key: str = SECRET_KEY,
                      webhook_secret: str = WEBHOOK_SECRET) -> AsyncIterator[Psp]:
    """The stand-in on a loopback port, sending its webhooks to ``webhook_url_template``
    (``{tenant}`` is the paying town)."""
    sock = local_servers.bound_socket(host, port)
    psp = Psp(f"http://{host}:{sock.getsockname()[1]}", webhook_url_template, secret_key, webhook_secret)
    server = uvicorn.Server(uvicorn.Config(api.app(psp.ledger, psp.secret_key), log_level="warning", lifespan="on",
                                            timeout_graceful_shutdown=5))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    sweeping = asyncio.create_task(psp.sweep())
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise RuntimeError("the payment stand-in stopped before it started")
            await asyncio.sleep(0.01)
        yield psp
    finally:
        sweeping.cancel()
        with suppress(asyncio.CancelledError):
            await sweeping
        server.should_exit = True
        await serving
        await psp.sender.close()
        sock.close()


class StandInSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The stand-in serves what the services' payment settings name, with their keys."""

    payment: PaymentSettings = PaymentSettings()
    #: Where its webhooks go; ``{tenant}`` becomes the town's slug.
    webhook_url: str = field(default="http://{tenant}.localhost:8000/api/v1/payments/webhook", name="AIZU_PSP_WEBHOOK_URL")


async def serve_psp(stop: asyncio.Event | None = None) -> None:
    """``aizu serve psp``: on ``AIZU_PSP_URL``'s port, webhooks to ``AIZU_PSP_WEBHOOK_URL``."""
    payment = load(PaymentSettings, defaults={"api_url": "http://127.0.0.1:8070", "secret_key": SECRET_KEY,
                                              "webhook_secret": WEBHOOK_SECRET})
    settings = load(StandInSettings, payment=payment)
    port = urlsplit(payment.api_url).port or 80
    template = settings.webhook_url
    async with running_psp(template, port=port, secret_key=payment.secret_key,
                           webhook_secret=payment.webhook_secret) as psp:
        log.info("payment stand-in on %s, webhooks to %s", psp.url, template)
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
