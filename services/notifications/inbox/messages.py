"""The resident's inbox: their own messages in the town of the subject, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update

from contracts import notifications as msg
from contracts.errors import ErrorCode, failure
from services.notifications import access
from services.notifications.models import InboxRow
from services.runtime.database import utc, utc_or_none
from services.runtime.service import Context, ServiceApp


def shape(row: InboxRow) -> msg.InboxMessage:
    return msg.InboxMessage(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        title_ja=row.title_ja,
        body_ja=row.body_ja,
        title_en=row.title_en,
        body_en=row.body_en,
        application_id=row.application_id,
        created_at=utc(row.created_at),
        read_at=utc_or_none(row.read_at),
    )


async def list_inbox(ctx: Context, req: msg.ListInbox) -> msg.InboxList:
    principal = access.resident(ctx)
    own = (InboxRow.tenant == ctx.tenant, InboxRow.recipient == principal.subject)
    query = select(InboxRow).where(*own)
    if req.unread_only:
        query = query.where(InboxRow.read_at.is_(None))
    rows = (await ctx.session.execute(query.order_by(InboxRow.created_at.desc(), InboxRow.id).limit(req.limit))).scalars().all()
    unread = (
        await ctx.session.execute(select(func.count()).select_from(InboxRow).where(*own, InboxRow.read_at.is_(None)))
    ).scalar_one()
    return msg.InboxList(items=[shape(r) for r in rows], unread=unread)


async def mark_read(ctx: Context, req: msg.MarkRead) -> msg.InboxMessage:
    """Marks one of the resident's own messages read; the first reading's time is kept."""
    principal = access.resident(ctx)
    session = ctx.session
    async with session.begin():
        mine = (InboxRow.tenant == ctx.tenant, InboxRow.id == req.id, InboxRow.recipient == principal.subject)
        await session.execute(
            update(InboxRow).where(*mine, InboxRow.read_at.is_(None)).values(read_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        row = (await session.execute(select(InboxRow).where(*mine))).scalar_one_or_none()
        if row is None:
            # Another resident's message is reported as absent, not as forbidden.
            raise failure(ErrorCode.NOT_FOUND, "No such message", "there is no such message in your inbox")
        return shape(row)


def register(app: ServiceApp) -> None:
    app.endpoint(msg.INBOX, msg.ListInbox, read_only=True)(list_inbox)
    app.endpoint(msg.READ, msg.MarkRead)(mark_read)
