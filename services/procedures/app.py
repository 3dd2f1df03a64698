"""The procedures service assembled: its endpoints, database, migrations and outbox relay."""

from __future__ import annotations

from pathlib import Path

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from contracts.tenants import Region, default_directory, load_region
from services.procedures import applications, catalog, receipts
from services.procedures.receipts import Signer
from services.procedures.models import OutboxRow
from services.runtime import streams
from services.runtime.outbox import OutboxRelay
from services.runtime.service import ServiceApp

NAME = "procedures"
VERSION = "0.2.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(catalog_max_age: float | None = None, region: Region | None = None) -> ServiceApp:
    """``catalog_max_age``: seconds a town's catalog is kept in memory (None: from the environment)."""
    app = ServiceApp(NAME, VERSION, "Each town's procedures, applications and workflow")
    reader = catalog.register(app, catalog_max_age)
    signer = Signer()
    handlers = applications.register(app, reader, signer, region or load_region(default_directory()))
    receipts.register(app, signer)

    async def start_relay(nc: Client, engine: AsyncEngine) -> None:
        js = nc.jetstream()
        await streams.ensure(js, streams.EVENTS, streams.AUDIT)
        handlers.relay = OutboxRelay(async_sessionmaker(engine, expire_on_commit=False), OutboxRow, js)
        handlers.relay.start()

    async def stop_relay() -> None:
        if handlers.relay is not None:
            await handlers.relay.stop()

    app.on_start.append(start_relay)
    app.on_stop.append(stop_relay)
    return app
