"""Emergency alerts always go out: never behind announcements, whatever the start-up order, under load.

Real nats-server, both databases (PostgreSQL as a NOBYPASSRLS app role), the notifications
service in-process as in tests/test_broadcasts.py.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import nats
from sqlalchemy import delete

from contracts import broadcasts as b
from contracts import subjects
from contracts.subjects import NOTIFICATIONS
from services.notifications import app as notifications_app
from services.notifications.broadcast_tables import FanoutRow, ResidentRow
from services.notifications.mailer import SmtpSettings
from services.notifications.models import InboxRow
from services.runtime import local_servers, rls
from services.runtime.database import create_engine, utc
from services.runtime.service import ServiceApp
from tests.conftest import eventually, running_notifications
from tests.test_broadcasts import add_residents, admin, alert, ask, council, inbox_of, sent


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
    app = notifications_app.build(None, SmtpSettings(port=local_servers.free_port(), timeout=1), mail_poll_seconds=0.2)
    gate = asyncio.Event()

    async def slow_start(_nc: object, _engine: object) -> None:
        await gate.wait()

    app.on_start.insert(0, slow_start)
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
        assert "alerts" not in app.parts  # approved with no fan-out worker yet
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
