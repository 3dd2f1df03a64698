"""Broadcasts and push-type notices, plugged into the notifications service.

Endpoints, the relay of the broadcasts' outbox (town by town and the council, for row-level
security), the fan-out consumers (alerts and announcements) and the alert watch.
``AIZU_BROADCAST_CHUNK``: residents per fan-out chunk; ``AIZU_ALERT_DEADLINE_SECONDS``: how long
after approval an alert may take to reach every town's inboxes before the alarm.
"""

from __future__ import annotations

import os

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import broadcasts as msg
from contracts.tenants import COUNCIL_SLUG, Region
from services.notifications import fanout
from services.notifications.alert_watch import AlertWatch, OfficeMail, deadline_from_env
from services.notifications.broadcast_tables import BroadcastOutbox
from services.notifications.broadcasts import Broadcasts
from services.notifications.fanout_worker import ALERTS, ANNOUNCEMENTS, AlertsFirst, FanoutWorker
from services.notifications.mailer import SmtpSettings
from services.notifications.notice_rules import NoticeRules
from services.runtime import rls, streams
from services.runtime.outbox import OutboxRelay
from services.runtime.service import Context, ServiceApp


def install(app: ServiceApp, region: Region, smtp: SmtpSettings, chunk: int | None = None, deadline: float | None = None) -> None:
    chunk = chunk or int(os.environ.get("AIZU_BROADCAST_CHUNK", fanout.CHUNK))
    deadline = deadline or deadline_from_env()
    mail = OfficeMail(region, smtp)
    Broadcasts(region, app, on_pending=mail.approval_needed).register()
    NoticeRules(region, app).register()

    async def health(ctx: Context, req: msg.AlertHealthQuery) -> msg.AlertHealth:
        watch = app.parts.get("alert_watch")
        return msg.AlertHealth(stalled=watch.stalled if watch else [], deadline_seconds=deadline)

    app.endpoint(msg.ALERT_HEALTH, msg.AlertHealthQuery, read_only=True)(health)

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
        watch = AlertWatch(sessions, region, mail, deadline)
        watch.start()
        app.parts["alert_watch"] = watch

    async def stop() -> None:
        # Before the sender stops: no chunk is half-way when the process goes on to exit.
        for part in ("alert_watch", "alerts", "fanout", "broadcast_relay"):
            if part in app.parts:
                await app.parts.pop(part).stop()
        await mail.close()

    app.on_start.append(start)
    app.on_stop.insert(0, stop)
