"""Write each town's catalog from ``tenants/`` into the service's database.

Idempotent: run at every deployment, it replaces a town's rows with what its file says, in one
transaction per run, so a reader never sees a half-written catalog.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.tenants import Region
from services.procedures.models import OfferedProcedure
from services.procedures.offers import summary, town_catalog


async def seed_catalog(session: AsyncSession, region: Region) -> int:
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
    return len(rows)
