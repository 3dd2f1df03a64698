"""Write each town's catalog from ``tenants/`` into the service's database, with its chain head and signing key.

Idempotent: run at every deployment, it replaces a town's rows with what its file says, in one
transaction per run, so a reader never sees a half-written catalog.

It writes town by town, as that town: the tables FORCE row-level security, so even their owner
(the role that seeds in production, ``AIZU_PROCEDURES_MIGRATION_DATABASE_URL``) sees and writes
one town at a time (``services/runtime/rls.py``). A town no longer configured keeps its rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.tenants import Region
from services.procedures.chain import GENESIS
from services.procedures.models import ChainHead, OfferedProcedure
from services.procedures.receipts import Signer
from services.procedures.offers import summary, town_catalog
from services.runtime import rls


async def seed_catalog(session: AsyncSession, region: Region, signer: Signer | None = None) -> int:
    now = datetime.now(UTC)
    rows: list[OfferedProcedure] = []
    for town in region.towns:
        for position, d in enumerate(town_catalog(region, town)):
            rows.append(
                OfferedProcedure(
                    tenant=town.slug,
                    code=d.code,
                    position=position,
                    category=d.category,
                    summary_json=msgspec.json.encode(summary(d)),
                    detail_json=msgspec.json.encode(d),
                    updated_at=now,
                )
            )
    signer = signer or Signer()
    async with session.begin():
        for town in region.towns:
            await rls.use_tenant(session, town.slug)
            await session.execute(delete(OfferedProcedure).where(OfferedProcedure.tenant == town.slug))
            session.add_all(r for r in rows if r.tenant == town.slug)
            head = await session.execute(select(ChainHead.tenant).where(ChainHead.tenant == town.slug))
            if head.first() is None:
                session.add(ChainHead(tenant=town.slug, seq=0, hash=GENESIS))
            await signer.ensure_key(session, town.slug)
    return len(rows)
