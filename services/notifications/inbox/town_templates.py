"""Each town's templates: read (its own or the regional default) and saved by its tenant admins."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import notifications as msg
from contracts.errors import ErrorCode, failure
from services.notifications import access
from services.notifications.inbox import templates
from services.notifications.models import TemplateRow
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp


async def texts_for(session: AsyncSession, tenant: str, kind: str, status: str | None = None, message: str = "") -> templates.Texts:
    """The town's template for ``kind``, or the regional default while it has none (for a status
    change with the caseworker's message, the default written for that status: :func:`templates.default_for`)."""
    row = await session.get(TemplateRow, (tenant, kind))
    if row is None:
        return templates.default_for(kind, status, message)
    return templates.Texts(title_ja=row.title_ja, body_ja=row.body_ja, title_en=row.title_en, body_en=row.body_en)


def _shape(kind: str, texts: templates.Texts, row: TemplateRow | None) -> msg.Template:
    rules = templates.KINDS[kind]
    return msg.Template(
        kind=kind,  # type: ignore[arg-type]
        title_ja=texts.title_ja,
        body_ja=texts.body_ja,
        title_en=texts.title_en,
        body_en=texts.body_en,
        source="town" if row is not None else "default",
        placeholders=list(rules.known),
        required=list(rules.required),
        updated_at=utc(row.updated_at) if row is not None else None,
    )


async def list_templates(ctx: Context, _req: msg.ListTemplates) -> msg.TemplateList:
    access.staff(ctx)
    rows = (await ctx.session.execute(select(TemplateRow).where(TemplateRow.tenant == ctx.tenant))).scalars().all()
    own = {r.kind: r for r in rows}
    items = []
    for kind in templates.KINDS:
        row = own.get(kind)
        texts = (
            templates.Texts(title_ja=row.title_ja, body_ja=row.body_ja, title_en=row.title_en, body_en=row.body_en)
            if row is not None
            else templates.DEFAULTS[kind]
        )
        items.append(_shape(kind, texts, row))
    return msg.TemplateList(items=items)


async def put_template(ctx: Context, req: msg.PutTemplate) -> msg.Template:
    principal = access.tenant_admin(ctx)
    templates.check(req)
    now = datetime.now(UTC)
    session = ctx.session
    try:
        async with session.begin():
            row = await session.get(TemplateRow, (ctx.tenant, req.kind), with_for_update=True)
            if row is None:
                row = TemplateRow(tenant=ctx.tenant, kind=req.kind)
                session.add(row)
            row.title_ja, row.body_ja, row.title_en, row.body_en = req.title_ja, req.body_ja, req.title_en, req.body_en
            row.updated_by, row.updated_at = principal.subject, now
    except IntegrityError as exc:  # another admin created it at the same moment
        raise failure(ErrorCode.CONFLICT, "Saved by someone else just now", "read the template again and retry") from exc
    texts = templates.Texts(title_ja=req.title_ja, body_ja=req.body_ja, title_en=req.title_en, body_en=req.body_en)
    return _shape(req.kind, texts, row)


def register(app: ServiceApp) -> None:
    app.endpoint(msg.TEMPLATES, msg.ListTemplates, read_only=True)(list_templates)
    app.endpoint(msg.PUT_TEMPLATE, msg.PutTemplate)(put_template)
