"""The insights service assembled: its endpoints, database and the consumers of the event stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.tenants import Region, load_region
from services.insights import events, metrics
from services.insights.consumer import EventConsumer, events_of
from services.insights.settings import InsightsSettings
from services.runtime import streams
from services.runtime.service import Resources, ServiceApp, Worker

NAME = "insights"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"

APPLICATIONS_DURABLE = "insights-applications"
DELIVERIES_DURABLE = "insights-deliveries"
PAYMENTS_DURABLE = "insights-payments"


@dataclass(frozen=True)
class Insights:
    applications: EventConsumer
    deliveries: EventConsumer
    payments: EventConsumer

    @property
    def workers(self) -> Sequence[Worker]:
        return (self.applications, self.deliveries, self.payments)


def build(settings: InsightsSettings, region: Region | None = None) -> ServiceApp[Insights]:
    """``region``: None: the towns of ``settings.runtime.tenants``."""
    region = region or load_region(settings.runtime.tenants)
    towns = {t.slug for t in region.towns}

    async def assemble(app: ServiceApp[Insights], res: Resources) -> Insights:
        await streams.ensure(res.js, streams.EVENTS, replicas=settings.runtime.stream_replicas)

        async def application(session: AsyncSession, event: Any) -> None:
            await events.apply_application(session, region, event)

        return Insights(
            applications=EventConsumer(
                APPLICATIONS_DURABLE, events_of("application"), events.APPLICATION, application, res.sessions, towns,
                prefetch=events.prefetch_applications),
            deliveries=EventConsumer(
                DELIVERIES_DURABLE, events_of("delivery", "finished"), events.DELIVERY, events.apply_delivery,
                res.sessions, towns),
            payments=EventConsumer(
                PAYMENTS_DURABLE, events_of("payment", "settled"), events.PAYMENT, events.apply_payment, res.sessions, towns),
        )

    app: ServiceApp[Insights] = ServiceApp(
        NAME, VERSION, "The towns' shared figures (KPIs), trends and charts for the regional council", assemble=assemble,
        transaction_pooling=settings.runtime.transaction_pooling)
    metrics.register(app, region)
    return app
