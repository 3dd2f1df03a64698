"""Endpoints that read a town's catalog.

The catalog changes only when a deployment re-seeds it, yet it is read on nearly every page. The
service therefore keeps each town's rows, as read from its database, for a short time
(``AIZU_CATALOG_CACHE_SECONDS``, default 30; 0 reads the database on every request). The rows are
stored pre-encoded, so serving them is a join of bytes, with no decoding and re-encoding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from contracts import procedures as msg
from contracts.errors import ErrorCode, failure
from services.procedures.models import OfferedProcedure
from services.runtime.service import Context, ServiceApp

T = OfferedProcedure


def _listing(tenant: str, summaries: list[bytes]) -> bytes:
    return b'{"tenant":"%s","items":[%s]}' % (tenant.encode(), b",".join(summaries))


@dataclass(frozen=True, slots=True)
class TownCatalog:
    loaded_at: float
    #: (category, summary JSON), in catalog order.
    summaries: tuple[tuple[str, bytes], ...]
    details: dict[str, bytes]


class CatalogReader:
    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._towns: dict[str, TownCatalog] = {}

    async def _town(self, ctx: Context) -> TownCatalog:
        cached = self._towns.get(ctx.tenant)
        now = time.monotonic()
        if cached is not None and now - cached.loaded_at < self.max_age:
            return cached
        query = select(T.code, T.category, T.summary_json, T.detail_json).where(T.tenant == ctx.tenant).order_by(T.position)
        rows = (await ctx.session.execute(query)).all()
        loaded = TownCatalog(
            loaded_at=now,
            summaries=tuple((category, summary) for _, category, summary, _ in rows),
            details={code: detail for code, _, _, detail in rows},
        )
        self._towns[ctx.tenant] = loaded
        return loaded

    async def listing(self, ctx: Context, category: str | None) -> bytes:
        if self.max_age <= 0:
            query = select(T.summary_json).where(T.tenant == ctx.tenant).order_by(T.position)
            if category is not None:
                query = query.where(T.category == category)
            return _listing(ctx.tenant, list((await ctx.session.execute(query)).scalars()))
        town = await self._town(ctx)
        return _listing(ctx.tenant, [s for cat, s in town.summaries if category is None or cat == category])

    async def detail(self, ctx: Context, code: str) -> bytes | None:
        if self.max_age <= 0:
            query = select(T.detail_json).where(T.tenant == ctx.tenant, T.code == code)
            return (await ctx.session.execute(query)).scalar_one_or_none()
        return (await self._town(ctx)).details.get(code)


def register(app: ServiceApp, max_age: float) -> CatalogReader:
    """``max_age``: seconds a town's catalog is kept in memory (0: none kept)."""
    reader = CatalogReader(max_age)

    @app.endpoint(msg.LIST, msg.ListProcedures, read_only=True)
    async def list_procedures(ctx: Context, req: msg.ListProcedures) -> bytes:
        return await reader.listing(ctx, req.category)

    async def detail_or_404(ctx: Context, code: str) -> bytes:
        detail = await reader.detail(ctx, code)
        if detail is None:
            raise failure(ErrorCode.NOT_FOUND, "Unknown procedure", f"{ctx.tenant} offers no procedure {code!r}")
        return detail

    @app.endpoint(msg.GET, msg.GetProcedure, read_only=True)
    async def get_procedure(ctx: Context, req: msg.GetProcedure) -> bytes:
        return await detail_or_404(ctx, req.code)

    return reader
