"""Broadcasts: a town's announcements and emergency alerts, and the council's region-wide ones.

Who may write and approve
    At a town: its tenant admins. At the council (``tenant = "council"``): council members.
    An emergency alert, and anything region-wide, needs a second person of the same town (or of
    the council) to approve it; the author cannot, nor can anyone of another town (the subject's
    tenant decides, never the body). A town's announcement goes at once: it is routine news that
    waits out quiet hours anyway, and a village with one or two admins would otherwise be unable
    to send its news when one of them is away.

Release
    Approval (or, for an announcement, writing it) commits the broadcast's release together with
    one work item per target town in the outbox, in one transaction. The relay publishes them to
    JetStream; :mod:`services.notifications.fanout_worker` fans each town out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select

from contracts import broadcasts as msg
from contracts import subjects
from contracts.errors import ErrorCode, FieldError, failure
from contracts.principal import Principal
from contracts.tenants import COUNCIL_SLUG, Region
from services.notifications import access
from services.notifications.fanout_worker import lane_of
from services.notifications.broadcast_tables import (
    BroadcastOutbox,
    BroadcastRow,
    FanoutRow,
)
from services.runtime import rls
from services.runtime.database import utc
from services.runtime.outbox import new_event
from services.runtime.service import Context, ServiceApp

_ENCODER = msgspec.json.Encoder()


def author(ctx: Context) -> Principal:
    """A tenant admin of the subject's town, or a council member at the council."""
    if ctx.tenant == COUNCIL_SLUG:
        if not ctx.principal.has_role("council"):
            raise failure(ErrorCode.FORBIDDEN, "Council members only", "region-wide broadcasts are the council's")
        return ctx.principal
    return access.tenant_admin(ctx)


def _field(path: str, ja: str, en: str) -> FieldError:
    return FieldError(field=path, message_ja=ja, message_en=en)


class Broadcasts:
    def __init__(self, region: Region, app: ServiceApp) -> None:
        self._region = region
        self._towns = {t.slug: t for t in region.towns}
        self._app = app

    def register(self) -> None:
        self._app.endpoint(msg.BROADCAST, msg.NewBroadcast)(self.create)
        self._app.endpoint(msg.APPROVE_BROADCAST, msg.ApproveBroadcast)(self.approve)
        self._app.endpoint(msg.BROADCASTS, msg.ListBroadcasts)(self.list)

    def _targets(self, row: BroadcastRow) -> list[str]:
        return [t.slug for t in self._region.towns] if row.target == "region" else [row.tenant]

    def _checked_target(self, tenant: str, req: msg.NewBroadcast) -> None:
        errors: list[FieldError] = []
        if tenant == COUNCIL_SLUG:
            if req.target != "region":
                errors.append(_field("$.target", "協議会からの配信は地域全体（region）が対象です。",
                                     "the council broadcasts region-wide: target must be \"region\""))
        elif req.target == "region":
            errors.append(_field("$.target", "地域全体への配信は協議会が行います。",
                                 "only the council broadcasts region-wide: target must be \"town\" or \"districts\""))
        if req.target == "districts":
            known = self._towns[tenant].districts if tenant in self._towns else []
            if not req.districts:
                errors.append(_field("$.districts", "地区を一つ以上選んでください。", "list at least one district"))
            for i, name in enumerate(req.districts):
                if name not in known:
                    errors.append(_field(f"$.districts[{i}]", f"「{name}」はこの市町村の地区ではありません。",
                                         f"{name!r} is not a district of {tenant}"))
        elif req.districts:
            errors.append(_field("$.districts", "地区は対象が districts のときだけ指定できます。",
                                 "districts are only given with target \"districts\""))
        if errors:
            raise failure(ErrorCode.VALIDATION, "Bad broadcast", errors[0].message_en, errors)

    def _release(self, session_add, row: BroadcastRow, now: datetime) -> None:  # type: ignore[no-untyped-def]
        """Commit-with-the-change: one work item per target town, in the outbox of the author's tenant."""
        row.released_at = now
        districts = row.districts.split(",") if row.districts else []
        for town in self._targets(row):
            event_id = str(uuid.uuid4())
            item = msg.BroadcastReleased(
                event_id=event_id, broadcast_id=row.id, origin=row.tenant, tenant=town, kind=row.kind,  # type: ignore[arg-type]
                districts=districts, title_ja=row.title_ja, body_ja=row.body_ja, title_en=row.title_en,
                body_en=row.body_en, released_at=now,
            )
            # An emergency's work goes to its own lane (fanout_worker.ALERTS), never behind announcements.
            subject = subjects.event(town, "broadcast", lane_of(row.kind).verb)
            session_add(new_event(BroadcastOutbox, row.tenant, subject, _ENCODER.encode(item), event_id))

    def _relay_soon(self, tenant: str) -> None:
        relay = self._app.parts.get("broadcast_relay")
        if relay is not None:
            relay.notify(tenant)

    async def create(self, ctx: Context, req: msg.NewBroadcast) -> msg.Broadcast:
        principal = author(ctx)
        self._checked_target(ctx.tenant, req)
        now = datetime.now(UTC)
        row = BroadcastRow(
            id=str(uuid.uuid4()), tenant=ctx.tenant, kind=req.kind, target=req.target,
            districts=",".join(req.districts), title_ja=req.title_ja, body_ja=req.body_ja,
            title_en=req.title_en, body_en=req.body_en,
            needs_approval=req.kind == "emergency" or ctx.tenant == COUNCIL_SLUG,
            author=principal.subject, approver=None, created_at=now, released_at=None,
        )
        async with ctx.session.begin():
            ctx.session.add(row)
            if not row.needs_approval:
                self._release(ctx.session.add, row, now)
        if row.released_at is not None:
            self._relay_soon(ctx.tenant)
        return (await self._shape(ctx, [row]))[0]

    async def approve(self, ctx: Context, req: msg.ApproveBroadcast) -> msg.Broadcast:
        principal = author(ctx)
        session = ctx.session
        async with session.begin():
            row = (await session.execute(
                select(BroadcastRow).where(BroadcastRow.tenant == ctx.tenant, BroadcastRow.id == req.id).with_for_update()
            )).scalar_one_or_none()
            if row is None:
                raise failure(ErrorCode.NOT_FOUND, "No such broadcast", f"there is no broadcast {req.id} here")
            if not row.needs_approval:
                raise failure(ErrorCode.CONFLICT, "Nothing to approve", "an announcement of a town goes without approval")
            if row.released_at is not None:
                raise failure(ErrorCode.CONFLICT, "Already approved", f"approved by {row.approver} already")
            if row.author == principal.subject:
                raise failure(ErrorCode.FORBIDDEN, "A second person must approve",
                              "the author of a broadcast cannot approve it (two-person rule)")
            row.approver = principal.subject
            self._release(session.add, row, datetime.now(UTC))
        self._relay_soon(ctx.tenant)
        return (await self._shape(ctx, [row]))[0]

    async def list(self, ctx: Context, req: msg.ListBroadcasts) -> msg.BroadcastList:
        author(ctx)
        async with ctx.session.begin():
            rows = (await ctx.session.execute(
                select(BroadcastRow).where(BroadcastRow.tenant == ctx.tenant)
                .order_by(BroadcastRow.created_at.desc()).limit(req.limit)
            )).scalars().all()
        return msg.BroadcastList(items=await self._shape(ctx, rows))

    async def _shape(self, ctx: Context, rows: Sequence[BroadcastRow]) -> list[msg.Broadcast]:
        """With each broadcast's reach, read town by town (row-level security)."""
        released = [r.id for r in rows if r.released_at is not None]
        fanouts: dict[str, list[FanoutRow]] = {}
        if released:
            towns = self._targets(rows[0]) if ctx.tenant == COUNCIL_SLUG else [ctx.tenant]
            session = ctx.session
            async with session.begin():
                for town in towns:
                    await rls.use_tenant(session, town)
                    found = (await session.execute(
                        select(FanoutRow).where(FanoutRow.tenant == town, FanoutRow.broadcast_id.in_(released))
                    )).scalars().all()
                    for f in found:
                        fanouts.setdefault(f.broadcast_id, []).append(f)
            session.info[rls.TENANT] = ctx.tenant  # its next transaction is the request's town again
        return [self._shaped(r, fanouts.get(r.id, [])) for r in rows]

    def _shaped(self, row: BroadcastRow, fanouts: list[FanoutRow]) -> msg.Broadcast:
        towns = len(self._targets(row))
        done = sum(f.finished_at is not None for f in fanouts)
        status = "pending-approval" if row.released_at is None else ("sent" if done == towns else "sending")
        return msg.Broadcast(
            id=row.id, kind=row.kind, title_ja=row.title_ja, body_ja=row.body_ja,  # type: ignore[arg-type]
            title_en=row.title_en, body_en=row.body_en, target=row.target,  # type: ignore[arg-type]
            districts=row.districts.split(",") if row.districts else [], status=status,  # type: ignore[arg-type]
            needs_approval=row.needs_approval, author=row.author, approver=row.approver,
            created_at=utc(row.created_at), released_at=utc(row.released_at) if row.released_at else None,
            reach=msg.Reach(
                towns=towns, towns_done=done, residents=sum(f.residents for f in fanouts),
                inbox=sum(f.inbox for f in fanouts), deliveries=sum(f.deliveries for f in fanouts),
            ),
        )
