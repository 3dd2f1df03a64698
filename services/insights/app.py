"""The insights service assembled: its endpoints, database and the consumers of the event stream."""

from __future__ import annotations

from pathlib import Path

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.tenants import Region, default_directory, load_region
from services.insights import events, metrics
from services.insights.consumer import EventConsumer, events_of
from services.runtime import rls
from services.runtime.service import ServiceApp

NAME = "insights"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"

APPLICATIONS_DURABLE = "insights-applications"
DELIVERIES_DURABLE = "insights-deliveries"
PAYMENTS_DURABLE = "insights-payments"


def build(region: Region | None = None) -> ServiceApp:
    app = ServiceApp(NAME, VERSION, "The towns' shared figures (KPIs), trends and charts for the regional council")
    region = region or load_region(default_directory())
    metrics.register(app, region)
    towns = {t.slug for t in region.towns}

    async def start_consumers(nc: Client, engine: AsyncEngine) -> None:
        sessions = rls.sessionmaker(engine, expire_on_commit=False)

        async def application(session, event) -> None:  # type: ignore[no-untyped-def]
            await events.apply_application(session, region, event)

        consumers = {
            "applications": EventConsumer(
                APPLICATIONS_DURABLE, events_of("application"), events.APPLICATION, application, sessions, towns,
                prefetch=events.prefetch_applications),
            "deliveries": EventConsumer(
                DELIVERIES_DURABLE, events_of("delivery", "finished"), events.DELIVERY, events.apply_delivery,
                sessions, towns),
            "payments": EventConsumer(
                PAYMENTS_DURABLE, events_of("payment", "settled"), events.PAYMENT, events.apply_payment, sessions, towns),
        }
        for name, consumer in consumers.items():
            await consumer.subscribe(nc.jetstream())
            app.parts[name] = consumer

    async def stop_consumers() -> None:
        for name in ("applications", "deliveries", "payments"):
            if name in app.parts:
                await app.parts.pop(name).stop()

    app.on_start.append(start_consumers)
    app.on_stop.append(stop_consumers)
    return app
