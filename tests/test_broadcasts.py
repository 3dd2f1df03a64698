"""Broadcasts and push-type notices on the bus, on both backends (PostgreSQL as a NOBYPASSRLS app role).

Real nats-server, real databases, the SMTP sink as the town's relay. Principals are built here
as the gateway would send them; tests/test_broadcasts_api.py goes through the gateway.
"""

from __future__ import annotations

import asyncio
import email
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import msgspec
import pytest
from sqlalchemy import func, insert, select

from contracts import broadcasts as b
from contracts.errors import ErrorCode, ServiceFailure
from contracts.principal import Principal
from contracts.subjects import NOTIFICATIONS
from contracts.tenants import QuietHours, Region
from services.notifications.broadcasts.tables import ResidentRow
from services.notifications.delivery.quiet_hours import TOKYO
from services.notifications.models import DeliveryRow, InboxRow, PreferenceRow
from services.runtime import rls
from services.runtime.client import BusClient
from services.runtime.database import create_engine
from tests.conftest import eventually, mail_sink, running_notifications, smtp_to

T = TypeVar("T")


def admin(town: str, n: int = 1) -> Principal:
    return Principal(subject=f"{town}-admin-{n}", roles=("tenant-admin",), tenant=town)


def caseworker(town: str) -> Principal:
    return Principal(subject=f"{town}-caseworker", roles=("caseworker",), tenant=town)


def council(n: int = 1) -> Principal:
    return Principal(subject=f"council-member-{n}", roles=("council",), tenant="council")


async def ask(nc: Any, tenant: str, verb: str, message: msgspec.Struct, principal: Principal, reply: type[T]) -> T:
    return await BusClient(nc, 15).fetch(tenant, NOTIFICATIONS, verb, message, reply, principal)


async def refused(call: Awaitable[Any]) -> ServiceFailure:
    with pytest.raises(ServiceFailure) as caught:
        await call
    return caught.value


async def add_residents(
    url: str, town: str, n: int, *, email: bool = False, district: str | None = None, birthdate: date | None = None,
    child: date | None = None, consent: bool = True, subjects: list[str] | None = None,
) -> list[str]:
    """Residents imported as the town's app role would (row-level security on PostgreSQL)."""
    subjects = subjects or [f"{town}-{uuid.uuid4().hex[:12]}" for _ in range(n)]
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        async with rls.sessionmaker(engine, expire_on_commit=False)(info={rls.TENANT: town}) as session, session.begin():
            await session.execute(insert(ResidentRow), [
                {"tenant": town, "subject": s, "district": district, "birthdate": birthdate,
                 "youngest_child_born": child, "push_consent": consent, "imported_at": now}
                for s in subjects
            ])
            if email:
                await session.execute(insert(PreferenceRow), [
                    {"tenant": town, "subject": s, "channels": "inbox,email", "email": f"{s}@{town}.example",
                     "updated_at": now}
                    for s in subjects
                ])
    finally:
        await engine.dispose()
    return subjects


async def inbox_of(url: str, town: str, event_id: str) -> dict[str, int]:
    """Messages per recipient for one broadcast or rule in one town."""
    engine = create_engine(url)
    try:
        async with rls.sessionmaker(engine, expire_on_commit=False)(info={rls.TENANT: town}) as session, session.begin():
            rows = (await session.execute(
                select(InboxRow.recipient, func.count()).where(InboxRow.tenant == town, InboxRow.event_id == event_id)
                .group_by(InboxRow.recipient)
            )).all()
            return {r: n for r, n in rows}
    finally:
        await engine.dispose()


async def deliveries_of(url: str, town: str, key_prefix: str) -> list[DeliveryRow]:
    engine = create_engine(url)
    try:
        async with rls.sessionmaker(engine, expire_on_commit=False)(info={rls.TENANT: town}) as session, session.begin():
            return list((await session.execute(
                select(DeliveryRow).where(DeliveryRow.tenant == town, DeliveryRow.message_id.like(f"{key_prefix}.%"))
            )).scalars().all())
    finally:
        await engine.dispose()


async def residents_in(url: str, town: str) -> int:
    engine = create_engine(url)
    try:
        async with rls.sessionmaker(engine, expire_on_commit=False)(info={rls.TENANT: town}) as session, session.begin():
            return int((await session.execute(
                select(func.count()).select_from(ResidentRow).where(ResidentRow.tenant == town)
            )).scalar_one())
    finally:
        await engine.dispose()


def alert(kind: str = "emergency", **changes: Any) -> b.NewBroadcast:
    values: dict[str, Any] = dict(
        kind=kind, title_ja="【避難指示】只見川の増水", body_ja="直ちに避難してください。",
        title_en="Evacuation order: Tadami River rising", body_en="Evacuate now.",
    )
    values.update(changes)
    return b.NewBroadcast(**values)


async def sent(nc: Any, tenant: str, principal: Principal, broadcast_id: str, timeout: float = 30) -> b.Broadcast:
    async def probe() -> b.Broadcast | None:
        listed = await ask(nc, tenant, b.BROADCASTS, b.ListBroadcasts(), principal, b.BroadcastList)
        found = next(i for i in listed.items if i.id == broadcast_id)
        return found if found.status == "sent" else None

    return await eventually(probe, timeout)


def key(broadcast_id: str) -> str:
    return "b" + broadcast_id.replace("-", "")[:20]


async def test_alert_waits_for_a_second_admin_of_the_same_town(nats_url: str, notifications_db: str) -> None:
    mine = await add_residents(notifications_db, "kitakata", 30, email=True)
    async with running_notifications(nats_url, notifications_db) as svc:
        nc = svc.nc
        draft = await ask(nc, "kitakata", b.BROADCAST, alert(), admin("kitakata"), b.Broadcast)
        assert (draft.status, draft.needs_approval, draft.approver) == ("pending-approval", True, None)
        await asyncio.sleep(1.0)  # time enough for a fan-out that should not happen
        assert await inbox_of(notifications_db, "kitakata", draft.id) == {}

        own = await refused(ask(nc, "kitakata", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("kitakata"), b.Broadcast))
        assert own.envelope.code is ErrorCode.FORBIDDEN and "two-person" in own.envelope.detail
        # Another town's admin: at their own town the broadcast does not exist; at ours they are no admin.
        theirs = await refused(ask(nc, "aizuwakamatsu", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id),
                                   admin("aizuwakamatsu", 2), b.Broadcast))
        assert theirs.envelope.code is ErrorCode.NOT_FOUND
        crossing = await refused(ask(nc, "kitakata", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id),
                                     admin("aizuwakamatsu", 2), b.Broadcast))
        assert crossing.envelope.code is ErrorCode.FORBIDDEN
        clerk = await refused(ask(nc, "kitakata", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id),
                                  caseworker("kitakata"), b.Broadcast))
        assert clerk.envelope.code is ErrorCode.FORBIDDEN
        await asyncio.sleep(0.5)
        assert await inbox_of(notifications_db, "kitakata", draft.id) == {}

        approved = await ask(nc, "kitakata", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("kitakata", 2), b.Broadcast)
        assert approved.approver == "kitakata-admin-2" and approved.released_at is not None
        done = await sent(nc, "kitakata", admin("kitakata"), draft.id)
        everyone = await residents_in(notifications_db, "kitakata")
        inbox = await inbox_of(notifications_db, "kitakata", draft.id)
        assert len(inbox) == everyone == done.reach.residents == done.reach.inbox
        assert set(mine) <= set(inbox) and set(inbox.values()) == {1}
        emails = [d for d in await deliveries_of(notifications_db, "kitakata", key(draft.id)) if d.address.startswith("kitakata-")]
        assert {d.address.split("@")[0] for d in emails} >= set(mine)
        again = await refused(ask(nc, "kitakata", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("kitakata", 3), b.Broadcast))
        assert again.envelope.code is ErrorCode.CONFLICT


async def test_bad_broadcasts_are_refused_by_field_and_nothing_is_written(nats_url: str, notifications_db: str) -> None:
    async with running_notifications(nats_url, notifications_db) as svc:
        nc, me = svc.nc, admin("yugawa")
        before = await ask(nc, "yugawa", b.BROADCASTS, b.ListBroadcasts(), me, b.BroadcastList)
        cases: list[tuple[bytes, str]] = [
            (msgspec.json.encode({**msgspec.structs.asdict(alert()), "title_ja": ""}), "$.title_ja"),
            (msgspec.json.encode({**msgspec.structs.asdict(alert()), "kind": "rumour"}), "$.kind"),
            (msgspec.json.encode(alert(target="region")), "$.target"),
            (msgspec.json.encode(alert(target="districts")), "$.districts"),
            (msgspec.json.encode(alert(target="districts", districts=["笈川", "銀座"])), "$.districts[1]"),
            (msgspec.json.encode(alert(districts=["笈川"])), "$.districts"),
        ]
        client = BusClient(nc, 10)
        for payload, field in cases:
            failure = await refused(client.request("yugawa", NOTIFICATIONS, b.BROADCAST, payload, me))
            assert failure.envelope.code in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST)
            assert [f.field for f in failure.envelope.fields] == [field], payload
        # A resident or a caseworker may not write one at all.
        clerk = await refused(ask(nc, "yugawa", b.BROADCAST, alert(), caseworker("yugawa"), b.Broadcast))
        assert clerk.envelope.code is ErrorCode.FORBIDDEN
        after = await ask(nc, "yugawa", b.BROADCASTS, b.ListBroadcasts(), me, b.BroadcastList)
        assert after.items == before.items


async def test_districts_reach_only_their_residents(nats_url: str, notifications_db: str) -> None:
    inside = await add_residents(notifications_db, "yugawa", 5, district="勝常")
    outside = await add_residents(notifications_db, "yugawa", 5, district="笈川")
    async with running_notifications(nats_url, notifications_db) as svc:
        note = alert("announcement", target="districts", districts=["勝常"], title_ja="勝常地区の除雪について",
                     title_en="Snow clearing in Shōjō")
        made = await ask(svc.nc, "yugawa", b.BROADCAST, note, admin("yugawa"), b.Broadcast)
        assert made.needs_approval is False and made.status in ("sending", "sent")
        await sent(svc.nc, "yugawa", admin("yugawa"), made.id)
        inbox = await inbox_of(notifications_db, "yugawa", made.id)
        assert set(inside) <= set(inbox) and not set(outside) & set(inbox)


def _quiet_now(region: Region, town: str) -> Region:
    """``town`` with quiet hours from an hour ago to an hour from now (Asia/Tokyo)."""
    now = datetime.now(TOKYO)
    quiet = QuietHours(start=(now - timedelta(hours=1)).strftime("%H:%M"), end=(now + timedelta(hours=1)).strftime("%H:%M"))
    towns = tuple(msgspec.structs.replace(t, quiet_hours=quiet) if t.slug == town else t for t in region.towns)
    return msgspec.structs.replace(region, towns=towns)


async def test_quiet_hours_hold_announcements_not_emergencies(
    nats_url: str, notifications_db: str, region: Region, tmp_path: Any
) -> None:
    mine = await add_residents(notifications_db, "showa", 4, email=True)
    async with mail_sink(tmp_path / "mail") as sink:
        async with running_notifications(nats_url, notifications_db, smtp=smtp_to(sink), region=_quiet_now(region, "showa")) as svc:
            nc = svc.nc
            news = await ask(nc, "showa", b.BROADCAST, alert("announcement", title_ja="からむし織の里 開館時間の変更",
                                                           title_en="Opening hours change"), admin("showa"), b.Broadcast)
            draft = await ask(nc, "showa", b.BROADCAST, alert(), admin("showa"), b.Broadcast)
            await ask(nc, "showa", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("showa", 2), b.Broadcast)
            for made in (news, draft):
                await sent(nc, "showa", admin("showa"), made.id)
                # The inbox never waits.
                assert set(mine) <= set(await inbox_of(notifications_db, "showa", made.id))
            now = datetime.now(UTC)
            held = [d for d in await deliveries_of(notifications_db, "showa", key(news.id)) if d.address.split("@")[0] in mine]
            assert len(held) == len(mine)
            for d in held:
                assert d.status == "created"
                waits = d.next_attempt_at.replace(tzinfo=UTC) - now  # type: ignore[union-attr]
                assert timedelta(minutes=55) < waits <= timedelta(minutes=61)

            async def emergency_delivered() -> bool:
                rows = [d for d in await deliveries_of(notifications_db, "showa", key(draft.id)) if d.address.split("@")[0] in mine]
                return len(rows) == len(mine) and all(d.status == "delivered" for d in rows)

            await eventually(emergency_delivered, 30)
            received = {str(email.message_from_bytes(p.read_bytes())["To"]).split("@")[0] for p in sink.messages()}
            assert set(mine) <= received


async def test_region_wide_alert_needs_a_second_council_member(nats_url: str, notifications_db: str) -> None:
    towns = ("kaneyama", "mishima", "bandai")
    mine = {t: await add_residents(notifications_db, t, 3) for t in towns}
    async with running_notifications(nats_url, notifications_db) as svc:
        nc = svc.nc
        town_try = await refused(ask(nc, "kaneyama", b.BROADCAST, alert(target="region"), admin("kaneyama"), b.Broadcast))
        assert [f.field for f in town_try.envelope.fields] == ["$.target"]
        admin_at_council = await refused(ask(nc, "council", b.BROADCAST, alert(target="region"), admin("kaneyama"), b.Broadcast))
        assert admin_at_council.envelope.code is ErrorCode.FORBIDDEN
        announcement = await ask(nc, "council", b.BROADCAST, alert("announcement", target="region"), council(1), b.Broadcast)
        assert announcement.status == "pending-approval"  # region-wide: always a second member
        draft = await ask(nc, "council", b.BROADCAST, alert(target="region"), council(1), b.Broadcast)
        own = await refused(ask(nc, "council", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), council(1), b.Broadcast))
        assert own.envelope.code is ErrorCode.FORBIDDEN
        by_town = await refused(ask(nc, "council", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("bandai", 2), b.Broadcast))
        assert by_town.envelope.code is ErrorCode.FORBIDDEN
        await asyncio.sleep(0.5)
        assert await inbox_of(notifications_db, "bandai", draft.id) == {}
        await ask(nc, "council", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), council(2), b.Broadcast)
        done = await sent(nc, "council", council(1), draft.id, timeout=60)
        assert done.reach.towns == done.reach.towns_done == 13
        for town in towns:
            inbox = await inbox_of(notifications_db, town, draft.id)
            assert set(mine[town]) <= set(inbox) and set(inbox.values()) == {1}
        # A town sees nothing of the council's broadcasts in its own list.
        listed = await ask(nc, "bandai", b.BROADCASTS, b.ListBroadcasts(), admin("bandai"), b.BroadcastList)
        assert draft.id not in {i.id for i in listed.items}


async def test_push_type_rule_notifies_each_consenting_match_once(nats_url: str, notifications_db: str) -> None:
    town = "aizumisato"
    today = datetime.now(TOKYO).date()
    toddler = today - timedelta(days=400)
    older = today - timedelta(days=5 * 365)
    matched = await add_residents(notifications_db, town, 3, child=toddler, district="高田")
    refusing = await add_residents(notifications_db, town, 2, child=toddler, district="高田", consent=False)
    too_old = await add_residents(notifications_db, town, 2, child=older, district="高田")
    elsewhere = await add_residents(notifications_db, town, 2, child=toddler, district="本郷")
    rule = b.PutNoticeRule(
        name_ja="児童手当のご案内（3歳未満）", name_en="Child allowance reminder (under 3)",
        criteria=b.Criteria(youngest_child_below=3, districts=["高田"]),
        title_ja="児童手当の申請をお忘れなく", body_ja="3歳未満のお子さんがいるご家庭は児童手当を受け取れます。",
        title_en="Remember the child allowance", body_en="Households with a child under 3 can receive the child allowance.",
    )
    async with running_notifications(nats_url, notifications_db) as svc:
        nc, me = svc.nc, admin(town)
        saved = await ask(nc, town, b.PUT_NOTICE_RULE, rule, me, b.NoticeRule)
        ref = b.NoticeRuleRef(id=saved.id)
        preview = await ask(nc, town, b.PREVIEW_NOTICE_RULE, ref, me, b.NoticePreview)
        assert (preview.matched, preview.would_notify, preview.without_consent) == (3, 3, 2)
        first = await ask(nc, town, b.RUN_NOTICE_RULE, ref, me, b.NoticeRun)
        assert (first.matched, first.notified) == (3, 3)
        # New consenting match after the first run: the second run tells only them.
        late = await add_residents(notifications_db, town, 1, child=toddler, district="高田")
        second = await ask(nc, town, b.RUN_NOTICE_RULE, ref, admin(town, 2), b.NoticeRun)
        assert (second.matched, second.notified) == (4, 1)
        third = await ask(nc, town, b.RUN_NOTICE_RULE, ref, me, b.NoticeRun)
        assert (third.matched, third.notified) == (4, 0)
        inbox = await inbox_of(notifications_db, town, saved.id)
        assert inbox == {s: 1 for s in [*matched, *late]}
        assert not set(inbox) & {*refusing, *too_old, *elsewhere}
        listed = await ask(nc, town, b.NOTICE_RULES, b.ListNoticeRules(), caseworker(town), b.NoticeRuleList)
        mine = next(r for r in listed.items if r.id == saved.id)
        assert mine.notified == 4 and [r.notified for r in mine.runs] == [0, 1, 3]

        # Bad rules, named by field; another town's admin and a caseworker may not run it.
        bad = await refused(ask(nc, town, b.PUT_NOTICE_RULE, msgspec.structs.replace(rule, criteria=b.Criteria()), me, b.NoticeRule))
        assert [f.field for f in bad.envelope.fields] == ["$.criteria"]
        bad = await refused(ask(nc, town, b.PUT_NOTICE_RULE,
                                msgspec.structs.replace(rule, criteria=b.Criteria(districts=["銀座"])), me, b.NoticeRule))
        assert [f.field for f in bad.envelope.fields] == ["$.criteria.districts[0]"]
        bad = await refused(ask(nc, town, b.PUT_NOTICE_RULE,
                                msgspec.structs.replace(rule, criteria=b.Criteria(age_at_least=75, age_below=70)), me, b.NoticeRule))
        assert [f.field for f in bad.envelope.fields] == ["$.criteria.age_below"]
        other = await refused(ask(nc, town, b.RUN_NOTICE_RULE, ref, admin("kitakata"), b.NoticeRun))
        assert other.envelope.code is ErrorCode.FORBIDDEN
        gone = await refused(ask(nc, "kitakata", b.RUN_NOTICE_RULE, ref, admin("kitakata"), b.NoticeRun))
        assert gone.envelope.code is ErrorCode.NOT_FOUND
        clerk = await refused(ask(nc, town, b.RUN_NOTICE_RULE, ref, caseworker(town), b.NoticeRun))
        assert clerk.envelope.code is ErrorCode.FORBIDDEN
        after = await inbox_of(notifications_db, town, saved.id)
        assert after == inbox
