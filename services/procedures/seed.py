"""Write each town's catalog from ``tenants/`` into the service's database, with its chain head and signing key.

Idempotent: run at every deployment, it replaces a town's rows with what its file says, in one
transaction per run, so a reader never sees a half-written catalog.
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
    async with session.begin():
        await session.execute(delete(OfferedProcedure))
        session.add_all(rows)
        have = set((await session.execute(select(ChainHead.tenant))).scalars())
        session.add_all(ChainHead(tenant=t.slug, seq=0, hash=GENESIS) for t in region.towns if t.slug not in have)
        signer = signer or Signer()
        for town in region.towns:
            await signer.ensure_key(session, town.slug)
    return len(rows)
