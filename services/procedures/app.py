"""The procedures service assembled: its endpoints, database, migrations and outbox relay."""

from __future__ import annotations

from pathlib import Path

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.tenants import Region, default_directory, load_region
from services.procedures import applications, catalog, counter_codes, open311, payments, receipts
from services.procedures.chain import Sealer
from services.procedures.filing import Filer
from services.procedures.receipts import Signer
from services.procedures.models import OutboxRow
from services.runtime import rls, streams
from services.runtime.outbox import OutboxRelay
from services.runtime.background import Background
from services.runtime.service import ServiceApp
from services.runtime.settings import PaymentSettings

NAME = "procedures"
VERSION = "0.2.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(catalog_max_age: float | None = None, region: Region | None = None,
          payment: PaymentSettings | None = None) -> ServiceApp:
    """``catalog_max_age``: seconds a town's catalog is kept in memory (None: from the environment);
    ``payment``: the payment provider (None: from the environment)."""
    app = ServiceApp(NAME, VERSION, "Each town's procedures, applications and workflow")
    reader = catalog.register(app, catalog_max_age)
    signer = Signer()
    region = region or load_region(default_directory())
    handlers = applications.register(app, reader, signer, region)
    app.parts["applications"] = handlers
    handlers.payments = payments.register(app, handlers, payment)
    open311.register(app, reader, handlers)
    receipts.register(app, signer)
    counter_codes.register(app)

    workers: list[Background] = []

    async def start_relay(nc: Client, engine: AsyncEngine) -> None:
        js = nc.jetstream()
        await streams.ensure(js, streams.EVENTS, streams.AUDIT)
        handlers.files.attach(js)
        # Town by town: the outbox has row-level security like every table (services/runtime/rls.py).
        towns = [town.slug for town in region.towns]
        sessions = rls.sessionmaker(engine, expire_on_commit=False)
        handlers.relay = OutboxRelay(sessions, OutboxRow, js, tenants=towns)
        handlers.relay.start()
        handlers.sealer = Sealer(sessions, towns)
        handlers.sealer.start()
        handlers.filer = Filer(sessions, handlers.committed)
        handlers.filer.start()
        assert handlers.payments is not None
        workers.append(payments.RefundRetry(handlers.payments, sessions, towns))
        workers[-1].start()

    async def stop_relay() -> None:
        for worker in (handlers.filer, handlers.relay, handlers.sealer, *workers):
            if worker is not None:
                await worker.stop()

    app.on_start.append(start_relay)
    app.on_stop.append(stop_relay)
    return app
