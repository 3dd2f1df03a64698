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
    JetStream; :mod:`services.notifications.broadcasts.lanes` fans each town out.

Emergency alerts
    Japanese is enough (English is shown when given). An approval that would reach nobody is
    refused unless the approver says why (recorded). An alert shows as a banner on every page of
    its towns until its end time; it can be corrected (a new version that replaces it) or
    cancelled, each a new alert of its own to the same residents, approved by a second person.
    :mod:`services.notifications.broadcasts.alert_watch` raises the alarm when one is late.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, func, select

from contracts import broadcasts as msg
from contracts import subjects
from contracts.notifications import DeliveryStatus
from contracts.errors import ErrorCode, FieldError, failure
from contracts.principal import Principal
from contracts.tenants import COUNCIL_SLUG, Region
from services.notifications import access
from services.notifications.broadcasts import fanout
from services.notifications.broadcasts.lanes import key_of, lane_of
from services.notifications.broadcasts.tables import (
    BroadcastOutbox,
    BroadcastRow,
    FanoutRow,
)
from services.notifications.models import DeliveryRow
from services.runtime import rls
from services.runtime.database import utc
from services.runtime.outbox import new_event
from services.runtime.service import Context, ServiceApp
from services.runtime.town_worker import TownWorker

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
    def __init__(self, region: Region, relay: TownWorker, on_pending: Callable[[BroadcastRow], None] = lambda row: None) -> None:
        """``relay``: publishes the released work items of a town once told; ``on_pending``: an
        alert now waits for a second person (the approvers are told)."""
        self._region = region
        self._towns = {t.slug: t for t in region.towns}
        self._relay = relay
        self._on_pending = on_pending

    def register(self, app: ServiceApp[Any]) -> None:
        app.endpoint(msg.BROADCAST, msg.NewBroadcast)(self.create)
        app.endpoint(msg.APPROVE_BROADCAST, msg.ApproveBroadcast)(self.approve)
        app.endpoint(msg.BROADCASTS, msg.ListBroadcasts)(self.list)
        app.endpoint(msg.GET_BROADCAST, msg.GetBroadcast)(self.get)

    def _targets(self, row: BroadcastRow) -> list[str]:
        return [t.slug for t in self._region.towns] if row.target == msg.Target.REGION else [row.tenant]

    def _checked_target(self, tenant: str, req: msg.NewBroadcast) -> None:
        errors: list[FieldError] = []
        if tenant == COUNCIL_SLUG:
            if req.target != msg.Target.REGION:
                errors.append(_field("$.target", "協議会からの配信は地域全体（region）が対象です。",
                                     "the council broadcasts region-wide: target must be \"region\""))
        elif req.target == msg.Target.REGION:
            errors.append(_field("$.target", "地域全体への配信は協議会が行います。",
                                 "only the council broadcasts region-wide: target must be \"town\" or \"districts\""))
        if req.target == msg.Target.DISTRICTS:
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

    @staticmethod
    def _checked_texts(req: msg.NewBroadcast, now: datetime) -> None:
        errors: list[FieldError] = []
        if bool(req.title_en.strip()) != bool(req.body_en.strip()):
            missing = "$.body_en" if req.title_en.strip() else "$.title_en"
            errors.append(_field(missing, "英語は件名と本文の両方を書くか、両方とも空にしてください。",
                                 "give the English title and body together, or neither"))
        if req.ends_at is not None:
            if req.kind != msg.BroadcastKind.EMERGENCY:
                errors.append(_field("$.ends_at", "終了日時は緊急情報にだけ指定できます。",
                                     "only an emergency alert has an end time"))
            elif req.ends_at.tzinfo is None:
                errors.append(_field("$.ends_at", "終了日時にはタイムゾーンを付けてください。",
                                     "give the end time with its time zone"))
            elif not now < req.ends_at <= now + timedelta(days=msg.MAX_ALERT_DAYS):
                errors.append(_field("$.ends_at", f"終了日時は今から{msg.MAX_ALERT_DAYS}日以内の未来にしてください。",
                                     f"the end time must be in the next {msg.MAX_ALERT_DAYS} days"))
        if req.corrects and req.cancels:
            errors.append(_field("$.cancels", "訂正と取消は同時にできません。", "a broadcast corrects or cancels, not both"))
        if (req.corrects or req.cancels) and req.kind != msg.BroadcastKind.EMERGENCY:
            errors.append(_field("$.kind", "訂正・取消は緊急情報で行います。", "a correction or cancellation is an emergency alert"))
        if errors:
            raise failure(ErrorCode.VALIDATION, "Bad broadcast", errors[0].message_en, errors)

    async def _revised(self, ctx: Context, req: msg.NewBroadcast) -> BroadcastRow | None:
        """The released alert a correction or cancellation is about (of this town, still in force)."""
        revised = req.corrects or req.cancels
        if revised is None:
            return None
        field = "$.corrects" if req.corrects else "$.cancels"
        row = await ctx.session.get(BroadcastRow, revised)
        if row is None or row.tenant != ctx.tenant or row.kind != msg.BroadcastKind.EMERGENCY or row.released_at is None:
            raise failure(ErrorCode.VALIDATION, "Bad broadcast", f"{revised} is no released alert of {ctx.tenant}",
                          [_field(field, "訂正・取消できるのは、この市町村が送った緊急情報だけです。",
                                  "only a released emergency alert of this town can be corrected or cancelled")])
        if row.replaced_by is not None or row.cancels is not None:
            raise failure(ErrorCode.CONFLICT, "Already replaced", f"{revised} was corrected or cancelled already",
                          [_field(field, "この緊急情報はすでに訂正または取り消されています。",
                                  "this alert was corrected or cancelled already")])
        return row

    def _release(self, session_add, row: BroadcastRow, now: datetime) -> None:  # type: ignore[no-untyped-def]
        """Commit-with-the-change: one work item per target town, in the outbox of the author's tenant."""
        row.released_at = now
        districts = row.districts.split(",") if row.districts else []
        for town in self._targets(row):
            event_id = str(uuid.uuid4())
            item = msg.BroadcastReleased(
                event_id=event_id, broadcast_id=row.id, origin=row.tenant, tenant=town, kind=row.kind,
                districts=districts, title_ja=row.title_ja, body_ja=row.body_ja, title_en=row.title_en,
                body_en=row.body_en, released_at=now,
            )
            # An emergency's work goes to its own lane (lanes.ALERTS), never behind announcements.
            subject = subjects.event(town, "broadcast", lane_of(row.kind).verb)
            session_add(new_event(BroadcastOutbox, row.tenant, subject, _ENCODER.encode(item), event_id))

    def _relay_soon(self, tenant: str) -> None:
        self._relay.notify(tenant)

    async def _recipients(self, ctx: Context, row: BroadcastRow) -> int:
        """Residents the broadcast would reach now, town by town (row-level security)."""
        conditions: list[ColumnElement[bool]] = []
        if row.districts:
            conditions.append(fanout.RESIDENTS.c.district.in_(row.districts.split(",")))
        total = 0
        session = ctx.session
        for town in self._targets(row):
            await rls.use_tenant(session, town)
            total += await fanout.count(session, town, conditions)
        await rls.use_tenant(session, ctx.tenant)
        return total

    async def create(self, ctx: Context, req: msg.NewBroadcast) -> msg.Broadcast:
        principal = author(ctx)
        now = datetime.now(UTC)
        self._checked_texts(req, now)
        async with ctx.session.begin():
            revised = await self._revised(ctx, req)
            target, districts = (revised.target, revised.districts) if revised else (req.target, ",".join(req.districts))
            if revised is None:
                self._checked_target(ctx.tenant, req)
            row = BroadcastRow(
                id=str(uuid.uuid4()), tenant=ctx.tenant, kind=req.kind, target=target,
                districts=districts, title_ja=req.title_ja, body_ja=req.body_ja,
                title_en=req.title_en.strip() and req.title_en, body_en=req.body_en.strip() and req.body_en,
                needs_approval=req.kind == msg.BroadcastKind.EMERGENCY or ctx.tenant == COUNCIL_SLUG,
                author=principal.subject, approver=None, created_at=now, released_at=None,
                ends_at=req.ends_at, corrects=req.corrects, cancels=req.cancels, zero_recipients_reason="",
            )
            ctx.session.add(row)
            if not row.needs_approval:
                row.recipients = await self._recipients(ctx, row)
                self._release(ctx.session.add, row, now)
        if row.released_at is not None:
            self._relay_soon(ctx.tenant)
        else:
            self._on_pending(row)
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
            recipients = await self._recipients(ctx, row)
            reason = req.zero_recipients_reason.strip()
            if recipients == 0 and not reason:
                raise failure(ErrorCode.VALIDATION, "Nobody to receive it", "no resident of the target is imported",
                              [_field("$.zero_recipients_reason",
                                      "対象の住民が0人です。それでも送る場合は、その理由を書いてください。",
                                      "nobody would receive it: say why it should go out anyway")])
            revised = row.corrects or row.cancels
            if revised is not None:
                original = await session.get(BroadcastRow, revised, with_for_update=True)
                if original is None or original.replaced_by is not None:
                    raise failure(ErrorCode.CONFLICT, "Already replaced", f"{revised} was corrected or cancelled already")
                original.replaced_by = row.id
            row.approver = principal.subject
            row.recipients = recipients
            row.zero_recipients_reason = reason if recipients == 0 else ""
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

    async def get(self, ctx: Context, req: msg.GetBroadcast) -> msg.Broadcast:
        """One broadcast with its progress town by town and channel by channel (the live page)."""
        author(ctx)
        session = ctx.session
        async with session.begin():
            row = await session.get(BroadcastRow, req.id)
            if row is None or row.tenant != ctx.tenant:
                raise failure(ErrorCode.NOT_FOUND, "No such broadcast", f"there is no broadcast {req.id} here")
        shaped = (await self._shape(ctx, [row]))[0]
        if row.released_at is None:
            return shaped
        return msgspec.structs.replace(shaped, channels=await self._channels(ctx, row))

    async def _channels(self, ctx: Context, row: BroadcastRow) -> list[msg.ChannelReach]:
        key = key_of(row.id)
        counts: dict[str, dict[str, int]] = {}
        session = ctx.session
        async with session.begin():
            for town in self._targets(row):
                await rls.use_tenant(session, town)
                found = (await session.execute(
                    # Delivery ids are "<key>:<resident id>": a range of the primary key.
                    select(DeliveryRow.channel, DeliveryRow.status, func.count())
                    .where(DeliveryRow.tenant == town, DeliveryRow.id > f"{key}:", DeliveryRow.id < f"{key};")
                    .group_by(DeliveryRow.channel, DeliveryRow.status)
                )).all()
                for channel, status, n in found:
                    by_status = counts.setdefault(channel, {})
                    by_status[status] = by_status.get(status, 0) + n
        session.info[rls.TENANT] = ctx.tenant
        return [
            msg.ChannelReach(
                channel=channel, delivered=c.get(DeliveryStatus.DELIVERED, 0), failed=c.get(DeliveryStatus.PERMANENT_FAILURE, 0),
                queued=sum(n for s, n in c.items() if s not in (DeliveryStatus.DELIVERED, DeliveryStatus.PERMANENT_FAILURE)),
            )
            for channel, c in sorted(counts.items())
        ]

    async def _shape(self, ctx: Context, rows: Sequence[BroadcastRow]) -> list[msg.Broadcast]:
        """With each broadcast's reach, read town by town (row-level security)."""
        released = [r.id for r in rows if r.released_at is not None]
        fanouts: dict[str, list[FanoutRow]] = {}
        pending: dict[str, int] = {}
        session = ctx.session
        if released:
            towns = self._targets(rows[0]) if ctx.tenant == COUNCIL_SLUG else [ctx.tenant]
            async with session.begin():
                for town in towns:
                    await rls.use_tenant(session, town)
                    found = (await session.execute(
                        select(FanoutRow).where(FanoutRow.tenant == town, FanoutRow.broadcast_id.in_(released))
                    )).scalars().all()
                    for f in found:
                        fanouts.setdefault(f.broadcast_id, []).append(f)
            session.info[rls.TENANT] = ctx.tenant  # its next transaction is the request's town again
        waiting = [r for r in rows if r.released_at is None]
        if waiting:
            # Who it would reach, so that the approver sees a 0 before approving.
            async with session.begin():
                for r in waiting:
                    pending[r.id] = await self._recipients(ctx, r)
        return [self._shaped(r, fanouts.get(r.id, []), pending.get(r.id)) for r in rows]

    def _shaped(self, row: BroadcastRow, fanouts: list[FanoutRow], pending: int | None) -> msg.Broadcast:
        targets = self._targets(row)
        done = sum(f.finished_at is not None for f in fanouts)
        if row.released_at is None:
            status = msg.BroadcastStatus.PENDING_APPROVAL
        else:
            status = msg.BroadcastStatus.SENT if done == len(targets) else msg.BroadcastStatus.SENDING
        by_town = {f.tenant: f for f in fanouts}
        towns = [
            msg.TownReach(town=t, residents=f.residents, inbox=f.inbox, deliveries=f.deliveries, done=f.finished_at is not None)
            if (f := by_town.get(t)) else msg.TownReach(town=t, residents=0, inbox=0, deliveries=0, done=False)
            for t in targets
        ] if row.released_at is not None else []
        return msg.Broadcast(
            id=row.id, kind=row.kind, title_ja=row.title_ja, body_ja=row.body_ja,
            title_en=row.title_en, body_en=row.body_en, target=row.target,
            districts=row.districts.split(",") if row.districts else [], status=status,
            needs_approval=row.needs_approval, author=row.author, approver=row.approver,
            created_at=utc(row.created_at), released_at=utc(row.released_at) if row.released_at else None,
            reach=msg.Reach(
                towns=len(targets), towns_done=done, residents=sum(f.residents for f in fanouts),
                inbox=sum(f.inbox for f in fanouts), deliveries=sum(f.deliveries for f in fanouts),
            ),
            recipients=pending if pending is not None else (row.recipients or 0),
            zero_recipients_reason=row.zero_recipients_reason or "",
            ends_at=utc(row.ends_at) if row.ends_at else None, corrects=row.corrects, cancels=row.cancels,
            replaced_by=row.replaced_by, alarm_at=utc(row.alarm_at) if row.alarm_at else None, towns=towns,
        )
