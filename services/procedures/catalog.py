"""Endpoints that read a town's catalog."""

from __future__ import annotations

from sqlalchemy import select

from contracts import procedures as msg
from contracts.errors import ErrorCode, failure
from services.procedures.models import OfferedProcedure
from services.runtime.service import Context, ServiceApp


def register(app: ServiceApp) -> None:
    @app.endpoint(msg.LIST, msg.ListProcedures)
    async def list_procedures(ctx: Context, req: msg.ListProcedures) -> bytes:
        query = select(OfferedProcedure.summary_json).where(OfferedProcedure.tenant == ctx.tenant)
        if req.category is not None:
            query = query.where(OfferedProcedure.category == req.category)
        rows = (await ctx.session.execute(query.order_by(OfferedProcedure.position))).scalars().all()
        # The rows are already JSON; joining them avoids decoding what is only passed on.
        return b'{"tenant":"%s","items":[%s]}' % (ctx.tenant.encode(), b",".join(rows))

    @app.endpoint(msg.GET, msg.GetProcedure)
    async def get_procedure(ctx: Context, req: msg.GetProcedure) -> bytes:
        query = select(OfferedProcedure.detail_json).where(
            OfferedProcedure.tenant == ctx.tenant, OfferedProcedure.code == req.code
        )
        row = (await ctx.session.execute(query)).scalar_one_or_none()
        if row is None:
            raise failure(ErrorCode.NOT_FOUND, "Unknown procedure", f"{ctx.tenant} offers no procedure {req.code!r}")
        return row
