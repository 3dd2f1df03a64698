"""The notifications service assembled: its endpoints, database, event consumer and email sender."""

from __future__ import annotations

import os
from pathlib import Path

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.tenants import Region, default_directory, load_region
from services.notifications import deliveries, inbox, preferences, town_templates
from services.notifications import broadcast_parts
from services.notifications.consumer import ApplicationEvents
from services.notifications import dead_letters, news, push, webhooks
from services.notifications.mailer import EmailChannel, SmtpSettings
from services.notifications.models import OutboxRow
from services.notifications.ratelimit import Limits, limits_from_env
from services.notifications.sender import Sender
from services.notifications.webhooks import WebhookChannel
from services.notifications.webpush import PushSettings, VapidKeys, WebPushChannel
from services.runtime import streams
from services.runtime.outbox import OutboxRelay
from services.runtime import rls
from services.runtime.service import ServiceApp

NAME = "notifications"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    region: Region | None = None, smtp: SmtpSettings | None = None, mail_poll_seconds: float = 1.0,
    push_settings: PushSettings | None = None, limits: Limits | None = None,
) -> ServiceApp:
    """``smtp``: the relay (None: from ``AIZU_SMTP_*``); ``push_settings``: web push (None: from
    ``AIZU_VAPID_*`` / ``AIZU_PUSH_*``); ``limits``: rate limits (None: from ``AIZU_RATE_*``)."""
    app = ServiceApp(NAME, VERSION, "Residents' inbox, channel preferences, towns' templates and email")
    region = region or load_region(default_directory())
    smtp = smtp or SmtpSettings.from_env()
    inbox.register(app)
    preferences.register(app)
    town_templates.register(app)
    deliveries.register(app)
    push_settings = push_settings or PushSettings.from_env()
    vapid = VapidKeys.load_or_create(push_settings.vapid_dir)
    push.register(app, push_settings, vapid)
    # Tests only: receivers on loopback over plain HTTP.
    local_webhooks = os.environ.get("AIZU_WEBHOOK_ALLOW_HTTP", "") in ("1", "true", "yes")
    webhooks.register(app, allow_http=local_webhooks)
    dead_letters.register(app)
    news.register(app)

    async def start_workers(nc: Client, engine: AsyncEngine) -> None:
        sessions = rls.sessionmaker(engine, expire_on_commit=False)
        js = nc.jetstream()
        await streams.ensure(js, streams.EVENTS, streams.DEAD_LETTERS)
        # Delivery outcomes and dead letters, committed with the delivery, relayed town by town.
        outbox = OutboxRelay(sessions, OutboxRow, js, tenants=[t.slug for t in region.towns])
        outbox.start()
        channels = {"email": EmailChannel(region, smtp), "push": WebPushChannel(push_settings, vapid), "webhook": WebhookChannel(allow_local=local_webhooks)}
        mailer = Sender(
            sessions, region, channels, smtp.retry_backoff, limits or Limits(limits_from_env()),
            poll_seconds=mail_poll_seconds, on_outbox=outbox.notify,
        )
        mailer.start()
        app.parts["js"], app.parts["sender"], app.parts["outbox"] = js, mailer, outbox
        events = ApplicationEvents(sessions, region, on_delivery=mailer.notify)
        await events.subscribe(nc.jetstream())
        app.parts["mailer"], app.parts["events"] = mailer, events

    async def stop_workers() -> None:
        # The consumer first: nothing new is queued while the sender finishes its pass.
        for part in ("events", "mailer", "outbox"):
            if part in app.parts:
                await app.parts.pop(part).stop()

    app.on_start.append(start_workers)
    app.on_stop.append(stop_workers)
    # Broadcasts and push-type notices: after the sender starts (they wake it), stopped before it.
    broadcast_parts.install(app, region, smtp)
    return app
