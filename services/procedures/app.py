"""The procedures service assembled: its endpoints, database, migrations and workers.

What the service runs beside its endpoints is built in :func:`build`'s ``assemble``, once the
connection and the database are known, and handed to the handlers that use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.tenants import Region, load_region
from services.procedures import applications, catalog, counter_codes, open311, payments, receipts
from services.procedures.applications import Applications
from services.procedures.chain import Sealer
from services.procedures.models import OutboxRow
from services.procedures.receipts import Signer
from services.procedures.settings import ProceduresSettings
from services.runtime import streams
from services.runtime.files import FileBucket
from services.runtime.outbox import OutboxRelay
from services.runtime.service import Resources, ServiceApp, Worker

NAME = "procedures"
VERSION = "0.2.0"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Procedures:
    applications: Applications
    refunds: payments.RefundRetry

    @property
    def workers(self) -> Sequence[Worker]:
        # Stopped in the reverse order: the filer writes what it holds before the relay stops.
        handlers = self.applications
        return (handlers.relay, handlers.sealer, self.refunds, handlers.filer)


def build(settings: ProceduresSettings, region: Region | None = None) -> ServiceApp[Procedures]:
    """``region``: None: the towns of ``settings.runtime.tenants``."""
    region = region or load_region(settings.runtime.tenants)
    signer = Signer(settings.signing_key_secret.encode() if settings.signing_key_secret else None)

    async def assemble(app: ServiceApp[Procedures], res: Resources) -> Procedures:
        await streams.ensure(res.js, streams.EVENTS, streams.AUDIT, replicas=settings.runtime.stream_replicas)
        files = FileBucket()
        files.attach(res.js)
        # Town by town: the outbox has row-level security like every table (services/runtime/rls.py).
        towns = [town.slug for town in region.towns]
        handlers = Applications(
            reader, signer, region, sessions=res.sessions, files=files, payment=settings.payment,
            relay=OutboxRelay(res.sessions, OutboxRow, res.js, tenants=towns), sealer=Sealer(res.sessions, towns),
        )
        applications.register(app, handlers)
        payments.register(app, handlers.payments)
        open311.register(app, reader, handlers)
        return Procedures(applications=handlers, refunds=payments.RefundRetry(handlers.payments, res.sessions, towns))

    app: ServiceApp[Procedures] = ServiceApp(NAME, VERSION, "Each town's procedures, applications and workflow", assemble=assemble,
        transaction_pooling=settings.runtime.transaction_pooling)
    reader = catalog.register(app, settings.catalog_max_age)
    receipts.register(app, signer)
    counter_codes.register(app)
    return app
