"""The notifications service assembled: its endpoints, database, event consumer and email sender."""

from __future__ import annotations

from pathlib import Path

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.tenants import Region, default_directory, load_region
from services.notifications import deliveries, inbox, preferences, town_templates
from services.notifications.consumer import ApplicationEvents
from services.notifications.mailer import Mailer, SmtpSettings
from services.runtime import rls
from services.runtime.service import ServiceApp

NAME = "notifications"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(region: Region | None = None, smtp: SmtpSettings | None = None, mail_poll_seconds: float = 1.0) -> ServiceApp:
    """``smtp``: the relay (None: from ``AIZU_SMTP_*``)."""
    app = ServiceApp(NAME, VERSION, "Residents' inbox, channel preferences, towns' templates and email")
    region = region or load_region(default_directory())
    smtp = smtp or SmtpSettings.from_env()
    inbox.register(app)
    preferences.register(app)
    town_templates.register(app)
    deliveries.register(app)

    async def start_workers(nc: Client, engine: AsyncEngine) -> None:
        sessions = rls.sessionmaker(engine, expire_on_commit=False)
        mailer = Mailer(sessions, region, smtp, poll_seconds=mail_poll_seconds)
        mailer.start()
        events = ApplicationEvents(sessions, region, on_delivery=mailer.notify)
        await events.subscribe(nc.jetstream())
        app.parts["mailer"], app.parts["events"] = mailer, events

    async def stop_workers() -> None:
        # The consumer first: nothing new is queued while the sender finishes its pass.
        for part in ("events", "mailer"):
            if part in app.parts:
                await app.parts.pop(part).stop()

    app.on_start.append(start_workers)
    app.on_stop.append(stop_workers)
    return app
