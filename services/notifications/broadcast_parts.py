"""Broadcasts and push-type notices, plugged into the notifications service.

Endpoints, the relay of the broadcasts' outbox (town by town and the council, for row-level
security) and the fan-out consumer. ``AIZU_BROADCAST_CHUNK``: residents per fan-out chunk.
"""

from __future__ import annotations

import os

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.tenants import COUNCIL_SLUG, Region
from services.notifications import fanout
from services.notifications.broadcast_tables import BroadcastOutbox
from services.notifications.broadcasts import Broadcasts
from services.notifications.fanout_worker import ALERTS, ANNOUNCEMENTS, AlertsFirst, FanoutWorker
from services.notifications.notice_rules import NoticeRules
from services.runtime import rls, streams
from services.runtime.outbox import OutboxRelay
from services.runtime.service import ServiceApp


def install(app: ServiceApp, region: Region, chunk: int | None = None) -> None:
    Broadcasts(region, app).register()
    NoticeRules(region, app).register()
    chunk = chunk or int(os.environ.get("AIZU_BROADCAST_CHUNK", fanout.CHUNK))

    async def start(nc: Client, engine: AsyncEngine) -> None:
        sessions = rls.sessionmaker(engine, expire_on_commit=False)
        js = nc.jetstream()
        await streams.ensure(js, streams.EVENTS)
        relay = OutboxRelay(sessions, BroadcastOutbox, js, tenants=[*(t.slug for t in region.towns), COUNCIL_SLUG])
        relay.start()
        mailer = app.parts.get("mailer")
        on_delivery = mailer.notify if mailer else (lambda _t: None)
        # Alerts first: their lane is bound before the announcements'.
        priority = AlertsFirst()
        for name, lane in (("alerts", ALERTS), ("fanout", ANNOUNCEMENTS)):
            worker = FanoutWorker(sessions, region, lane, priority, on_delivery=on_delivery, chunk=chunk)
            await worker.subscribe(js)
            app.parts[name] = worker
        app.parts["broadcast_relay"] = relay

    async def stop() -> None:
        # Before the sender stops: no chunk is half-way when the process goes on to exit.
        for part in ("alerts", "fanout", "broadcast_relay"):
            if part in app.parts:
                await app.parts.pop(part).stop()

    app.on_start.append(start)
    app.on_stop.insert(0, stop)
