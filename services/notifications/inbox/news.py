"""A town's news: the broadcasts it released, and the region-wide ones of the council.

Public (the home page shows it to anyone): released broadcasts are announcements, not personal
data. Nothing waiting for approval is ever shown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from contracts import broadcasts as msg
from contracts.tenants import COUNCIL_SLUG
from services.notifications.broadcasts.tables import BroadcastRow
from services.runtime import rls
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp


def _item(row: BroadcastRow, origin: str) -> msg.NewsItem:
    return msg.NewsItem(
        id=row.id, kind=row.kind, origin=origin,
        title_ja=row.title_ja, body_ja=row.body_ja, title_en=row.title_en, body_en=row.body_en,
        districts=[d for d in row.districts.split(",") if d], sent_at=utc(row.released_at),  # type: ignore[arg-type]
        ends_at=utc(row.ends_at) if row.ends_at else None, corrects=row.corrects, cancels=row.cancels,
    )


def in_force(row: BroadcastRow, now: datetime) -> bool:
    """An emergency alert's banner shows: released, neither corrected nor cancelled (nor itself a
    cancellation), and before its end time (``ALERT_HOURS`` after release when none was given)."""
    if row.kind != msg.BroadcastKind.EMERGENCY or row.released_at is None or row.replaced_by is not None or row.cancels is not None:
        return False
    ends = utc(row.ends_at) if row.ends_at else utc(row.released_at) + timedelta(hours=msg.ALERT_HOURS)
    return now < ends


async def news(ctx: Context, req: msg.ListNews) -> msg.News:
    now = datetime.now(UTC)
    since = now - timedelta(days=msg.NEWS_DAYS)
    released = select(BroadcastRow).where(BroadcastRow.released_at.is_not(None), BroadcastRow.released_at >= since)
    session = ctx.session
    own = (await session.execute(released.where(BroadcastRow.tenant == ctx.tenant)
                                 .order_by(BroadcastRow.released_at.desc()).limit(req.limit))).scalars().all()
    items = [_item(r, ctx.tenant) for r in own]
    if ctx.tenant != COUNCIL_SLUG:
        # Region-wide broadcasts are the council's rows: read as the council, then back.
        await rls.use_tenant(session, COUNCIL_SLUG)
        try:
            regional = (await session.execute(released.where(BroadcastRow.tenant == COUNCIL_SLUG, BroadcastRow.target == msg.Target.REGION)
                                              .order_by(BroadcastRow.released_at.desc()).limit(req.limit))).scalars().all()
        finally:
            await rls.use_tenant(session, ctx.tenant)
        items += [_item(r, COUNCIL_SLUG) for r in regional]
        rows = [*own, *regional]
    else:
        rows = list(own)
    alerts = sorted((_item(r, r.tenant) for r in rows if in_force(r, now)), key=lambda i: i.sent_at, reverse=True)
    items.sort(key=lambda i: i.sent_at, reverse=True)
    return msg.News(alerts=alerts, items=items[: req.limit])


def register(app: ServiceApp) -> None:
    app.endpoint(msg.NEWS, msg.ListNews, read_only=True)(news)
