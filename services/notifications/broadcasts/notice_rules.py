"""Push-type notices (プッシュ型): the town tells residents what they are eligible for.

A tenant admin defines a rule over the attributes the town imported into the residents directory
(age, the youngest child's age, district), previews its reach and runs it. Only residents who
consented to push-type notices are notified, and each at most once per rule: the inbox message's
``event_id`` is the rule's id, so a second run finds them notified already (the unique key, and
ids derived from the rule and the resident). A run is one transaction, written set-based in
chunks like a broadcast; the rule, each run's reach and the number notified are recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, exists, func, select

from contracts import broadcasts as msg
from contracts.errors import ErrorCode, FieldError, failure
from contracts.tenants import Region
from services.notifications import access
from services.notifications.broadcasts import fanout
from services.notifications.broadcasts.tables import NoticeRuleRow, NoticeRunRow
from services.notifications.delivery.quiet_hours import TOKYO, release_at
from services.notifications.models import InboxRow
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp
from services.runtime.town_worker import TownWorker

R = fanout.RESIDENTS


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def conditions(criteria: msg.Criteria, today: date) -> list[ColumnElement[bool]]:
    """The rule as SQL over the residents directory (consent not included)."""
    found: list[ColumnElement[bool]] = []
    if criteria.age_at_least is not None:
        found.append(R.c.birthdate <= years_before(today, criteria.age_at_least))
    if criteria.age_below is not None:
        found.append(R.c.birthdate > years_before(today, criteria.age_below))
    if criteria.youngest_child_below is not None:
        found.append(R.c.youngest_child_born > years_before(today, criteria.youngest_child_below))
    if criteria.districts:
        found.append(R.c.district.in_(criteria.districts))
    return found


def key_of(rule_id: str) -> str:
    return "n" + rule_id.replace("-", "")[:20]


def _field(path: str, ja: str, en: str) -> FieldError:
    return FieldError(field=path, message_ja=ja, message_en=en)


class NoticeRules:
    def __init__(self, region: Region, sender: TownWorker) -> None:
        """``sender``: sends a town's queued deliveries once told."""
        self._towns = {t.slug: t for t in region.towns}
        self._sender = sender

    def register(self, app: ServiceApp[Any]) -> None:
        app.endpoint(msg.NOTICE_RULES, msg.ListNoticeRules)(self.list)
        app.endpoint(msg.PUT_NOTICE_RULE, msg.PutNoticeRule)(self.put)
        app.endpoint(msg.PREVIEW_NOTICE_RULE, msg.NoticeRuleRef)(self.preview)
        app.endpoint(msg.RUN_NOTICE_RULE, msg.NoticeRuleRef)(self.run)

    def _checked(self, tenant: str, c: msg.Criteria) -> None:
        errors: list[FieldError] = []
        if c.age_at_least is None and c.age_below is None and c.youngest_child_below is None and not c.districts:
            errors.append(_field("$.criteria", "対象者の条件を一つ以上指定してください。",
                                 "a rule selects on at least one condition"))
        if c.age_at_least is not None and c.age_below is not None and c.age_at_least >= c.age_below:
            errors.append(_field("$.criteria.age_below", "年齢の上限は下限より大きくしてください。",
                                 "age_below must be greater than age_at_least"))
        known = self._towns[tenant].districts if tenant in self._towns else []
        for i, name in enumerate(c.districts):
            if name not in known:
                errors.append(_field(f"$.criteria.districts[{i}]", f"「{name}」はこの市町村の地区ではありません。",
                                     f"{name!r} is not a district of {tenant}"))
        if errors:
            raise failure(ErrorCode.VALIDATION, "Bad rule", errors[0].message_en, errors)

    async def put(self, ctx: Context, req: msg.PutNoticeRule) -> msg.NoticeRule:
        principal = access.tenant_admin(ctx)
        self._checked(ctx.tenant, req.criteria)
        now = datetime.now(UTC)
        session = ctx.session
        async with session.begin():
            if req.id is None:
                row = NoticeRuleRow(id=str(uuid.uuid4()), tenant=ctx.tenant, created_by=principal.subject, created_at=now)
                session.add(row)
            else:
                row = await self._rule(ctx, req.id)
            row.name_ja, row.name_en = req.name_ja, req.name_en
            row.criteria = msgspec.json.encode(req.criteria).decode()
            row.title_ja, row.body_ja, row.title_en, row.body_en = req.title_ja, req.body_ja, req.title_en, req.body_en
            row.updated_at = now
        return (await self._shape(ctx, [row]))[0]

    async def list(self, ctx: Context, _req: msg.ListNoticeRules) -> msg.NoticeRuleList:
        access.staff(ctx)
        async with ctx.session.begin():
            rows = (await ctx.session.execute(
                select(NoticeRuleRow).where(NoticeRuleRow.tenant == ctx.tenant).order_by(NoticeRuleRow.created_at.desc())
            )).scalars().all()
        return msg.NoticeRuleList(items=await self._shape(ctx, rows))

    async def preview(self, ctx: Context, req: msg.NoticeRuleRef) -> msg.NoticePreview:
        access.staff(ctx)
        session = ctx.session
        async with session.begin():
            row = await self._rule(ctx, req.id)
            where = conditions(msgspec.json.decode(row.criteria, type=msg.Criteria), _today())
            everyone = await fanout.count(session, ctx.tenant, where)
            matched = await fanout.count(session, ctx.tenant, [*where, fanout.consented()])
            notified = exists().where(
                InboxRow.tenant == ctx.tenant, InboxRow.event_id == row.id, InboxRow.recipient == R.c.subject
            )
            fresh = await fanout.count(session, ctx.tenant, [*where, fanout.consented(), ~notified])
        return msg.NoticePreview(rule_id=row.id, matched=matched, would_notify=fresh, without_consent=everyone - matched)

    async def run(self, ctx: Context, req: msg.NoticeRuleRef) -> msg.NoticeRun:
        principal = access.tenant_admin(ctx)
        session = ctx.session
        now = datetime.now(UTC)
        async with session.begin():
            rule = await self._rule(ctx, req.id)
            where = [*conditions(msgspec.json.decode(rule.criteria, type=msg.Criteria), _today()), fanout.consented()]
            message = fanout.Message(
                event_id=rule.id, key=key_of(rule.id), kind="notice", title_ja=rule.title_ja, body_ja=rule.body_ja,
                title_en=rule.title_en, body_en=rule.body_en,
            )
            send_after = release_at(now, self._towns[ctx.tenant].quiet_hours, emergency=False)
            matched = await fanout.count(session, ctx.tenant, where)
            notified = queued = 0
            cursor = 0
            while (upto := await fanout.next_bound(session, ctx.tenant, where, cursor)) is not None:
                written, sent = await fanout.write_chunk(session, ctx.tenant, message, where, cursor, upto, now, send_after)
                notified, queued, cursor = notified + written, queued + sent, upto
            run = NoticeRunRow(id=str(uuid.uuid4()), tenant=ctx.tenant, rule_id=rule.id, run_by=principal.subject,
                               run_at=now, matched=matched, notified=notified)
            session.add(run)
        if queued:
            self._sender.notify(ctx.tenant)
        return _run(run)

    async def _rule(self, ctx: Context, rule_id: str) -> NoticeRuleRow:
        row = (await ctx.session.execute(
            select(NoticeRuleRow).where(NoticeRuleRow.tenant == ctx.tenant, NoticeRuleRow.id == rule_id)
        )).scalar_one_or_none()
        if row is None:
            raise failure(ErrorCode.NOT_FOUND, "No such rule", f"there is no notice rule {rule_id} here")
        return row

    async def _shape(self, ctx: Context, rows: Sequence[NoticeRuleRow]) -> list[msg.NoticeRule]:
        ids = [r.id for r in rows]
        runs: dict[str, list[msg.NoticeRun]] = {}
        notified: dict[str, int] = {}
        if ids:
            async with ctx.session.begin():
                for run in (await ctx.session.execute(
                    select(NoticeRunRow).where(NoticeRunRow.tenant == ctx.tenant, NoticeRunRow.rule_id.in_(ids))
                    .order_by(NoticeRunRow.run_at.desc())
                )).scalars():
                    runs.setdefault(run.rule_id, []).append(_run(run))
                counted = await ctx.session.execute(
                    select(InboxRow.event_id, func.count()).where(InboxRow.tenant == ctx.tenant, InboxRow.event_id.in_(ids))
                    .group_by(InboxRow.event_id)
                )
                notified = {event_id: n for event_id, n in counted.all()}
        return [
            msg.NoticeRule(
                id=r.id, name_ja=r.name_ja, name_en=r.name_en, criteria=msgspec.json.decode(r.criteria, type=msg.Criteria),
                title_ja=r.title_ja, body_ja=r.body_ja, title_en=r.title_en, body_en=r.body_en,
                created_by=r.created_by, created_at=utc(r.created_at), updated_at=utc(r.updated_at),
                notified=notified.get(r.id, 0), runs=runs.get(r.id, []),
            )
            for r in rows
        ]


def _run(row: NoticeRunRow) -> msg.NoticeRun:
    return msg.NoticeRun(id=row.id, run_by=row.run_by, run_at=utc(row.run_at), matched=row.matched, notified=row.notified)


def _today() -> date:
    return datetime.now(TOKYO).date()
