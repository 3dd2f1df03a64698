"""Emergency alerts always go out: never behind announcements, whatever the start-up order, under load.

Real nats-server, both databases (PostgreSQL as a NOBYPASSRLS app role), the notifications
service in-process as in tests/test_broadcasts.py.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from msgspec.structs import replace
from sqlalchemy import delete

from contracts import broadcasts as b
from contracts import subjects
from contracts.subjects import NOTIFICATIONS
from services.notifications import app as notifications_app
from services.notifications.broadcasts.tables import FanoutRow, ResidentRow
from services.notifications.channels.mailer import SmtpSettings
from services.notifications.models import InboxRow
from services.notifications.settings import NotificationsSettings
from services.runtime import local_servers, rls
from services.runtime.database import create_engine, utc
from services.runtime.service import ServiceApp
from contracts.errors import ErrorCode
from services.runtime.client import BusClient
from tests.conftest import eventually, mail_sink, running_notifications, smtp_to
from tests.test_broadcasts import add_residents, admin, alert, ask, council, inbox_of, refused, sent


async def _forget(url: str, town: str, subjects: list[str]) -> None:
    """Remove residents a test imported (and their inbox), so later tests fan out as before."""
    engine = create_engine(url)
    try:
        async with rls.sessionmaker(engine)(info={rls.TENANT: town}) as session, session.begin():
            for start in range(0, len(subjects), 5000):
                part = subjects[start:start + 5000]
                await session.execute(delete(InboxRow).where(InboxRow.tenant == town, InboxRow.recipient.in_(part)))
                await session.execute(delete(ResidentRow).where(ResidentRow.tenant == town, ResidentRow.subject.in_(part)))
    finally:
        await engine.dispose()


async def _finished_at(url: str, town: str, broadcast_id: str) -> datetime:
    engine = create_engine(url)
    try:
        async with rls.sessionmaker(engine)(info={rls.TENANT: town}) as session, session.begin():
            row = await session.get(FanoutRow, (town, broadcast_id))
            assert row is not None and row.finished_at is not None
            return utc(row.finished_at)
    finally:
        await engine.dispose()


@asynccontextmanager
async def starting_slowly(nats_url: str, db_url: str) -> AsyncIterator[tuple[ServiceApp, Any, asyncio.Event]]:
    """A service copy that answers requests while its background workers (relays, fan-out
    consumers, sender) are held back until the test sets the event: a slow start on a busy machine."""
    engine = create_engine(db_url)
    nc = await nats.connect(nats_url)
    settings = NotificationsSettings.from_env()
    app = notifications_app.build(replace(settings, smtp=SmtpSettings(port=local_servers.free_port(), timeout=1), sender_poll_seconds=0.2))
    gate = asyncio.Event()

    begin = app.begin_workers

    async def slow_start(nc: Any) -> None:
        await gate.wait()
        await begin(nc)

    app.begin_workers = slow_start  # type: ignore[method-assign]
    starting = asyncio.create_task(app.start(nc, engine))
    try:
        await eventually(lambda: _answers(nc))
        yield app, nc, gate
        gate.set()
        await starting
    finally:
        gate.set()
        if not starting.done():
            await asyncio.gather(starting, return_exceptions=True)
        await app.stop()
        await nc.drain()
        await engine.dispose()


async def _answers(nc: Any) -> bool:
    try:
        await nc.request(subjects.ping(NOTIFICATIONS), b"", timeout=1)
        return True
    except Exception:  # noqa: BLE001 - not answering yet
        return False


async def test_an_alert_does_not_wait_behind_announcements(nats_url: str, notifications_db: str) -> None:
    # Eight announcements to 会津若松市's 10,000 residents are released, then an alert to 湯川村:
    # all of it before the fan-out starts, so their work items wait in the stream in that order.
    # Once the workers run, the alert must be in every inbox before any announcement has finished.
    crowd = await add_residents(notifications_db, "aizuwakamatsu", 10_000)
    villagers = await add_residents(notifications_db, "yugawa", 20)
    try:
        async with starting_slowly(nats_url, notifications_db) as (app, nc, gate):
            news = [
                await ask(nc, "aizuwakamatsu", b.BROADCAST,
                          alert("announcement", title_ja=f"鶴ヶ城公園の催し {n}", title_en=f"Tsuruga Castle event {n}"),
                          admin("aizuwakamatsu"), b.Broadcast)
                for n in range(8)
            ]
            draft = await ask(nc, "yugawa", b.BROADCAST, alert(), admin("yugawa"), b.Broadcast)
            await ask(nc, "yugawa", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("yugawa", 2), b.Broadcast)
            gate.set()
            done = await sent(nc, "yugawa", admin("yugawa"), draft.id, timeout=30)
            assert set(villagers) <= set(await inbox_of(notifications_db, "yugawa", draft.id))
            assert done.reach.inbox == done.reach.residents
            for n in news:  # the announcements still reach everyone
                await sent(nc, "aizuwakamatsu", admin("aizuwakamatsu"), n.id, timeout=120)
            alert_done = await _finished_at(notifications_db, "yugawa", draft.id)
            first_news_done = min([await _finished_at(notifications_db, "aizuwakamatsu", n.id) for n in news])
            assert alert_done < first_news_done, "the alert waited for an announcement to finish"
    finally:
        await _forget(notifications_db, "aizuwakamatsu", crowd)


async def test_an_alert_approved_before_the_fan_out_consumers_are_bound_goes_out(
    nats_url: str, notifications_db: str
) -> None:
    towns = ("kitashiobara", "nishiaizu", "showa")
    mine = {t: await add_residents(notifications_db, t, 2) for t in towns}
    async with starting_slowly(nats_url, notifications_db) as (app, nc, gate):
        draft = await ask(nc, "council", b.BROADCAST, alert(target="region"), council(1), b.Broadcast)
        await ask(nc, "council", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), council(2), b.Broadcast)
        assert not app.components.alerts.running  # approved with no fan-out worker yet
        await asyncio.sleep(0.5)
        gate.set()
        done = await sent(nc, "council", council(1), draft.id, timeout=60)
        assert done.reach.towns_done == 13
        for town in towns:
            assert set(mine[town]) <= set(await inbox_of(notifications_db, town, draft.id))


async def test_a_region_wide_alert_goes_out_under_heavy_cpu_load(nats_url: str, notifications_db: str) -> None:
    towns = ("bandai", "inawashiro", "kaneyama")
    mine = {t: await add_residents(notifications_db, t, 3) for t in towns}
    # Two busy processes on a two-core machine, for at most a minute.
    hogs = [subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()\nwhile time.time()-t<60: pass"])
            for _ in range(2)]
    try:
        async with running_notifications(nats_url, notifications_db) as svc:
            draft = await ask(svc.nc, "council", b.BROADCAST, alert(target="region"), council(1), b.Broadcast)
            await ask(svc.nc, "council", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), council(2), b.Broadcast)
            done = await sent(svc.nc, "council", council(1), draft.id, timeout=60)
            assert done.reach.towns_done == 13 and done.reach.inbox == done.reach.residents
            for town in towns:
                assert set(mine[town]) <= set(await inbox_of(notifications_db, town, draft.id))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


async def _news(nc: Any, town: str) -> b.News:
    return await ask(nc, town, b.NEWS, b.ListNews(), admin(town), b.News)


async def test_a_japanese_only_alert_goes_out_and_bad_texts_or_end_times_are_named(
    nats_url: str, notifications_db: str
) -> None:
    mine = await add_residents(notifications_db, "mishima", 3)
    async with running_notifications(nats_url, notifications_db) as svc:
        nc, me = svc.nc, admin("mishima")
        before = await ask(nc, "mishima", b.BROADCASTS, b.ListBroadcasts(), me, b.BroadcastList)
        soon = datetime.now(UTC) + timedelta(hours=3)
        cases: list[tuple[b.NewBroadcast, str]] = [
            (alert(title_en="Evacuate", body_en=""), "$.body_en"),
            (alert(title_en="", body_en="Evacuate now."), "$.title_en"),
            (alert(ends_at=datetime.now(UTC) - timedelta(minutes=1)), "$.ends_at"),
            (alert(ends_at=datetime.now(UTC) + timedelta(days=31)), "$.ends_at"),
            (alert("announcement", ends_at=soon), "$.ends_at"),
            (alert(corrects="no-such-alert"), "$.corrects"),
            (alert(corrects="a", cancels="b"), "$.cancels"),
        ]
        for request, field in cases:
            failure = await refused(ask(nc, "mishima", b.BROADCAST, request, me, b.Broadcast))
            assert failure.envelope.code is ErrorCode.VALIDATION, request
            assert field in [f.field for f in failure.envelope.fields], (request, failure.envelope.fields)
        after = await ask(nc, "mishima", b.BROADCASTS, b.ListBroadcasts(), me, b.BroadcastList)
        assert after.items == before.items  # nothing half-written

        draft = await ask(nc, "mishima", b.BROADCAST, alert(title_en="", body_en="", ends_at=soon), me, b.Broadcast)
        assert draft.recipients >= 3 and draft.ends_at == soon
        await ask(nc, "mishima", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("mishima", 2), b.Broadcast)
        await sent(nc, "mishima", me, draft.id)
        assert set(mine) <= set(await inbox_of(notifications_db, "mishima", draft.id))
        shown = next(a for a in (await _news(nc, "mishima")).alerts if a.id == draft.id)
        assert (shown.title_en, shown.body_en, shown.ends_at) == ("", "", soon)


async def test_an_alert_nobody_would_receive_needs_a_recorded_reason(nats_url: str, notifications_db: str) -> None:
    async with running_notifications(nats_url, notifications_db) as svc:
        nc = svc.nc
        # 会津坂下町's 高寺 district: no resident of it is imported.
        draft = await ask(nc, "aizubange", b.BROADCAST, alert(target="districts", districts=["高寺"]), admin("aizubange"), b.Broadcast)
        assert draft.recipients == 0
        nobody = await refused(ask(nc, "aizubange", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id),
                                   admin("aizubange", 2), b.Broadcast))
        assert nobody.envelope.code is ErrorCode.VALIDATION
        assert [f.field for f in nobody.envelope.fields] == ["$.zero_recipients_reason"]
        still = await ask(nc, "aizubange", b.GET_BROADCAST, b.GetBroadcast(id=draft.id), admin("aizubange"), b.Broadcast)
        assert still.status == "pending-approval" and still.approver is None
        # Another town's admin cannot approve it with a reason either.
        other = await refused(ask(nc, "aizubange", b.APPROVE_BROADCAST,
                                  b.ApproveBroadcast(id=draft.id, zero_recipients_reason="訓練"), admin("yanaizu", 2), b.Broadcast))
        assert other.envelope.code is ErrorCode.FORBIDDEN
        reason = "住民登録の取り込み前の訓練として送る"
        approved = await ask(nc, "aizubange", b.APPROVE_BROADCAST,
                             b.ApproveBroadcast(id=draft.id, zero_recipients_reason=reason), admin("aizubange", 2), b.Broadcast)
        assert approved.zero_recipients_reason == reason and approved.recipients == 0
        done = await sent(nc, "aizubange", admin("aizubange"), draft.id)
        assert done.reach.inbox == 0 and done.zero_recipients_reason == reason


async def test_an_alert_is_corrected_then_cancelled_each_by_four_eyes(nats_url: str, notifications_db: str) -> None:
    mine = await add_residents(notifications_db, "yanaizu", 3)
    async with running_notifications(nats_url, notifications_db) as svc:
        nc, first, second = svc.nc, admin("yanaizu"), admin("yanaizu", 2)
        original = await ask(nc, "yanaizu", b.BROADCAST, alert(title_ja="【避難指示】只見川 柳津地区"), first, b.Broadcast)
        await ask(nc, "yanaizu", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=original.id), second, b.Broadcast)
        await sent(nc, "yanaizu", first, original.id)
        assert [a.id for a in (await _news(nc, "yanaizu")).alerts if a.id == original.id] == [original.id]

        # Another town cannot correct it; the correction waits for a second person.
        theirs = await refused(ask(nc, "kaneyama", b.BROADCAST, alert(corrects=original.id), admin("kaneyama"), b.Broadcast))
        assert [f.field for f in theirs.envelope.fields] == ["$.corrects"]
        fixed = await ask(nc, "yanaizu", b.BROADCAST,
                          alert(title_ja="【訂正】【避難指示】只見川 柳津・細八地区", corrects=original.id), second, b.Broadcast)
        assert fixed.status == "pending-approval" and fixed.target == original.target
        own = await refused(ask(nc, "yanaizu", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=fixed.id), second, b.Broadcast))
        assert own.envelope.code is ErrorCode.FORBIDDEN
        assert original.id in {a.id for a in (await _news(nc, "yanaizu")).alerts}  # in force until approved
        await ask(nc, "yanaizu", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=fixed.id), first, b.Broadcast)
        await sent(nc, "yanaizu", first, fixed.id)
        alerts = {a.id for a in (await _news(nc, "yanaizu")).alerts}
        assert fixed.id in alerts and original.id not in alerts
        replaced = await ask(nc, "yanaizu", b.GET_BROADCAST, b.GetBroadcast(id=original.id), first, b.Broadcast)
        assert replaced.replaced_by == fixed.id
        assert set(mine) <= set(await inbox_of(notifications_db, "yanaizu", fixed.id))  # told it changed
        again = await refused(ask(nc, "yanaizu", b.BROADCAST, alert(corrects=original.id), first, b.Broadcast))
        assert again.envelope.code is ErrorCode.CONFLICT

        cancel = await ask(nc, "yanaizu", b.BROADCAST,
                           alert(title_ja="【取消】避難指示を解除します", body_ja="避難指示は解除されました。", cancels=fixed.id),
                           first, b.Broadcast)
        await ask(nc, "yanaizu", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=cancel.id), second, b.Broadcast)
        await sent(nc, "yanaizu", first, cancel.id)
        alerts = {a.id for a in (await _news(nc, "yanaizu")).alerts}
        assert not alerts & {original.id, fixed.id, cancel.id}
        assert set(mine) <= set(await inbox_of(notifications_db, "yanaizu", cancel.id))
        news_items = {i.id: i for i in (await _news(nc, "yanaizu")).items}
        assert news_items[cancel.id].cancels == fixed.id


async def test_a_stalled_alert_raises_the_alarm_by_mail_and_in_alert_health(
    nats_url: str, notifications_db: str, tmp_path: Any, monkeypatch: Any, region: Any
) -> None:
    monkeypatch.setenv("AIZU_ALERT_DEADLINE_SECONDS", "1")
    await add_residents(notifications_db, "bandai", 2)
    office = region.town("bandai").contact.email
    council_office = region.council.contact.email
    async with mail_sink(tmp_path / "mail") as sink:
        async with running_notifications(nats_url, notifications_db, smtp=smtp_to(sink)) as svc:
            nc = svc.nc
            draft = await ask(nc, "bandai", b.BROADCAST, alert(), admin("bandai"), b.Broadcast)

            def mails(prefix: str) -> list[email.message.Message]:
                found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sink.messages()]
                return [m for m in found if str(m["Subject"]).startswith(prefix)]

            # The approver is told at once, at the town office's address.
            asking = await eventually(lambda: asyncio.sleep(0, [m for m in mails("【承認依頼】") if m["To"] == office]))
            assert draft.title_ja in str(asking[0]["Subject"])

            # The alert lane stops making progress (its worker is gone): approved, nobody's inbox fills.
            await svc.app.components.alerts.stop()
            await ask(nc, "bandai", b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), admin("bandai", 2), b.Broadcast)
            # One mail per office over one connection: wait for every office's, not only the first.
            async def every_office() -> list[email.message.Message] | None:
                found = mails("【警報】")
                return found if {m["To"] for m in found} >= {office, council_office} else None

            alarms = await eventually(every_office, timeout=20)
            assert "北塩原村" not in alarms[0].get_content() and "磐梯町" in alarms[0].get_content()
            async def listed() -> b.StalledAlert | None:
                health = await BusClient(nc, 5).fetch("council", NOTIFICATIONS, b.ALERT_HEALTH, b.AlertHealthQuery(),
                                                      b.AlertHealth, council(1))
                assert health.deadline_seconds == 1
                return next((s for s in health.stalled if s.broadcast_id == draft.id), None)

            stalled = await eventually(listed, 10)
            assert stalled.towns_pending == ["bandai"]
            shown = await ask(nc, "bandai", b.GET_BROADCAST, b.GetBroadcast(id=draft.id), admin("bandai"), b.Broadcast)
            assert shown.alarm_at is not None and shown.status == "sending"
            # Once only, however long it stays stuck.
            await asyncio.sleep(2.5)
            assert len([m for m in mails("【警報】") if m["To"] == office]) == 1
            # The lane comes back: the alert goes out, and no work is left for later tests' services.
            await svc.app.components.alerts.subscribe(nc.jetstream())
            await sent(nc, "bandai", admin("bandai"), draft.id)
