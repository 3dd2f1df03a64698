"""Delivery tracking for the town's staff: each outbound message and how far it got."""

from __future__ import annotations

from sqlalchemy import select

from contracts import notifications as msg
from services.notifications import access
from services.notifications.models import DeliveryRow
from services.runtime.database import utc, utc_or_none
from services.runtime.service import Context, ServiceApp


def shape(row: DeliveryRow) -> msg.Delivery:
    return msg.Delivery(
        id=row.id,
        message_id=row.message_id,
        channel=row.channel,
        address=row.address,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=utc_or_none(row.next_attempt_at),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


async def list_deliveries(ctx: Context, req: msg.ListDeliveries) -> msg.DeliveryList:
    access.staff(ctx)
    query = select(DeliveryRow).where(DeliveryRow.tenant == ctx.tenant)
    if req.status is not None:
        query = query.where(DeliveryRow.status == req.status)
    if req.message_id is not None:
        query = query.where(DeliveryRow.message_id == req.message_id)
    rows = (await ctx.session.execute(query.order_by(DeliveryRow.created_at.desc()).limit(req.limit))).scalars().all()
    return msg.DeliveryList(items=[shape(r) for r in rows])


def register(app: ServiceApp) -> None:
    app.endpoint(msg.DELIVERIES, msg.ListDeliveries, read_only=True)(list_deliveries)
