"""Emergency alerts are not rate-limited behind announcements: in each (town, channel) the sender
claims them before any other kind, from a token bucket of their own (issue "Emergency alerts a
town can trust", item 5).

Real parts: SQLite or PostgreSQL (the app role, under row-level security), the SMTP sink as the
town's relay, the sender and its email channel. The deliveries are written as a broadcast's
fan-out writes them (``fanout.write_chunk``). Most tests drive the sender's passes themselves
(``drain_once``), so what a pass sends is exact, not a matter of timing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifications.broadcasts import fanout
from services.notifications.broadcasts.tables import ResidentRow
from services.notifications.channels.mailer import EmailChannel
from services.notifications.channels.smtp_sink import MailSink
from services.notifications.delivery.ratelimit import DEFAULTS, Limits, emergency_limits_from_env, limits_from_env
from services.notifications.settings import NotificationsSettings
from services.notifications.delivery.sender import Sender
from services.notifications.models import DeliveryRow, InboxRow, PreferenceRow
from services.runtime import rls
from services.runtime.database import create_engine
from tests.conftest import eventually, mail_sink, running_notifications, smtp_to
from tests.test_broadcasts import add_residents

#: No other test of the session queues deliveries here: a pass of this town is this test's alone.
TOWN = "aizubange"


@dataclass
class Town:
    """Residents of ``TOWN`` in two districts of this test's own, reachable by email."""

    sessions: async_sessionmaker[AsyncSession]
    everyone: list[str]
    district: str
    few: str

    async def broadcast(self, kind: str, *, few_only: bool = False) -> str:
        """A broadcast's deliveries, as its fan-out writes them, due at once; returns its key."""
        key = "b" + uuid.uuid4().hex[:20]
        message = fanout.Message(event_id=str(uuid.uuid4()), key=key, kind=f"broadcast.{kind}",
                                 title_ja=f"{kind} {key}", body_ja="本文", title_en=kind, body_en="Body")
        districts = [self.few] if few_only else [self.district, self.few]
        now = datetime.now(UTC)
        async with self.sessions(info={rls.TENANT: TOWN}) as session, session.begin():
            await fanout.write_chunk(session, TOWN, message, [fanout.RESIDENTS.c.district.in_(districts)],
                                     0, 2**31 - 1, now, now)
        return key

    async def statuses(self, key: str) -> dict[str, int]:
        async with self.sessions(info={rls.TENANT: TOWN}) as session, session.begin():
            rows = await session.execute(
                select(DeliveryRow.status, func.count()).where(
                    DeliveryRow.tenant == TOWN, DeliveryRow.message_id.like(f"{key}.%")
                ).group_by(DeliveryRow.status))
            return dict(rows.all())


@asynccontextmanager
async def town(db_url: str, many: int, few: int) -> AsyncIterator[Town]:
    tag = uuid.uuid4().hex[:8]
    district, small = f"d-{tag}", f"f-{tag}"
    everyone = await add_residents(db_url, TOWN, many, email=True, district=district)
    everyone += await add_residents(db_url, TOWN, few, email=True, district=small)
    engine = create_engine(db_url)
    sessions = rls.sessionmaker(engine, expire_on_commit=False)
    try:
        yield Town(sessions, everyone, district, small)
    finally:
        async with sessions(info={rls.TENANT: TOWN}) as session, session.begin():
            recipients = InboxRow.recipient.in_(everyone)
            messages = select(InboxRow.id).where(InboxRow.tenant == TOWN, recipients)
            await session.execute(delete(DeliveryRow).where(DeliveryRow.tenant == TOWN, DeliveryRow.message_id.in_(messages)))
            await session.execute(delete(InboxRow).where(InboxRow.tenant == TOWN, recipients))
            await session.execute(delete(PreferenceRow).where(PreferenceRow.tenant == TOWN, PreferenceRow.subject.in_(everyone)))
            await session.execute(delete(ResidentRow).where(ResidentRow.tenant == TOWN, ResidentRow.subject.in_(everyone)))
        await engine.dispose()


def mails_of(sink: MailSink, key: str) -> int:
    """Mails of the broadcast ``key`` in the sink (its title, the subject, names it)."""
    return sum(key.encode() in path.read_bytes() for path in sink.messages())


async def test_an_alert_goes_before_the_announcements_queued_ahead_of_it(region, notifications_db, tmp_path):
    """No rate limit: the pass is what is scarce. The alert is queued after 300 announcement mails;
    the very next pass sends it, and only then what is left of the pass goes to the announcements."""
    async with town(notifications_db, 290, 10) as here, mail_sink(tmp_path / "mail") as sink:
        sender = Sender(here.sessions, region, {"email": EmailChannel(region, smtp_to(sink))}, (1.0,),
                        Limits({}, {}), batch=100)
        try:
            announcement = await here.broadcast("announcement")
            assert await sender.drain_once([TOWN]) == 100
            alert = await here.broadcast("emergency", few_only=True)
            assert await sender.drain_once([TOWN]) == 100
            assert await here.statuses(alert) == {"delivered": 10}
            assert mails_of(sink, alert) == 10
            assert await here.statuses(announcement) == {"delivered": 190, "created": 110}
        finally:
            await sender.stop()


async def test_an_alert_has_its_own_budget_when_announcements_used_up_the_towns(region, notifications_db, tmp_path, monkeypatch):
    """The town's email bucket (20 at once, then one a second) is spent on announcements; the alert
    queued after them goes in the next pass all the same, on a bucket of its own (by default the
    same size), while the announcements wait for their tokens."""
    monkeypatch.setenv("AIZU_RATE_EMAIL", "1,20")
    monkeypatch.delenv("AIZU_RATE_EMERGENCY_EMAIL", raising=False)
    async with town(notifications_db, 290, 10) as here, mail_sink(tmp_path / "mail") as sink:
        limits = service_limits()
        sender = Sender(here.sessions, region, {"email": EmailChannel(region, smtp_to(sink))}, (1.0,), limits)
        try:
            announcement = await here.broadcast("announcement")
            assert await sender.drain_once([TOWN]) == 20
            alert = await here.broadcast("emergency", few_only=True)
            await sender.drain_once([TOWN])
            assert await here.statuses(alert) == {"delivered": 10}
            assert mails_of(sink, alert) == 10
            assert (await here.statuses(announcement))["created"] >= 250  # waiting for their tokens
            assert limits.bucket(TOWN, "email", emergency=True).tokens <= 20 - 10  # the alert's tokens came from there
        finally:
            await sender.stop()


@pytest.mark.parametrize("notifications_db", ["postgres"], indirect=True)
async def test_a_running_service_sends_an_alert_while_its_towns_announcements_crawl(
    region, nats_url, notifications_db, tmp_path, monkeypatch,
):
    """The service as deployed, rate limits from the environment: 300 announcement mails at two a
    second (two and a half minutes of them); an alert queued after them arrives within seconds."""
    monkeypatch.setenv("AIZU_RATE_EMAIL", "2,10")
    async with town(notifications_db, 290, 10) as here, mail_sink(tmp_path / "mail") as sink:
        async with running_notifications(nats_url, notifications_db, smtp_to(sink), region, caught_up=False) as service:
            sender = service.app.components.sender
            announcement = await here.broadcast("announcement")
            sender.notify(TOWN)  # as the fan-out does after each chunk
            await eventually(lambda: _sync(mails_of(sink, announcement) >= 10), timeout=15)
            alert = await here.broadcast("emergency", few_only=True)
            sender.notify(TOWN)
            started = datetime.now(UTC)
            await eventually(lambda: _sync(mails_of(sink, alert) == 10), timeout=10)
            took = (datetime.now(UTC) - started).total_seconds()
            waiting = (await here.statuses(announcement)).get("created", 0)
            print(f"the alert's 10 mails arrived {took:.2f}s after it was queued; {waiting} announcement mails still queued")
            assert waiting > 250, waiting


async def _sync(value):
    return value


def service_limits() -> Limits:
    """The sender's limits as the service builds them, from its settings."""
    settings = NotificationsSettings.from_env()
    return Limits(settings.rate_limits, settings.emergency_rate_limits)


def test_emergency_rate_limits_come_from_the_environment_and_bad_values_name_the_variable(monkeypatch):
    ordinary = limits_from_env({"AIZU_RATE_EMAIL": "10,20"})
    # Unset: each channel's ordinary limit; set: its own; 0: none.
    assert emergency_limits_from_env(ordinary, {}) == ordinary
    env = {"AIZU_RATE_EMERGENCY_EMAIL": "0", "AIZU_RATE_EMERGENCY_PUSH": "50,100", "AIZU_RATE_EMERGENCY_WEBHOOK": "5"}
    assert emergency_limits_from_env(ordinary, env) == {"push": (50.0, 100.0), "webhook": (5.0, 5.0)}
    assert emergency_limits_from_env(DEFAULTS, {})["email"] == DEFAULTS["email"]

    # A bucket of their own, of the same size: announcements emptying the town's leave it full.
    limits = Limits(ordinary, emergency_limits_from_env(ordinary, {}))
    limits.take(TOWN, "email", 20)
    assert limits.available(TOWN, "email", 100) <= 1
    assert limits.available(TOWN, "email", 100, emergency=True) == 20
    limits.take(TOWN, "email", 20, emergency=True)
    assert limits.available(TOWN, "email", 100, emergency=True) <= 1

    # The service's settings read them from the environment.
    monkeypatch.setenv("AIZU_RATE_EMERGENCY_PUSH", "30,60")
    bucket = service_limits().bucket(TOWN, "push", emergency=True)
    assert bucket is not None and (bucket.rate, bucket.burst) == (30.0, 60.0)

    for name, value in [
        ("AIZU_RATE_EMERGENCY_EMAIL", "fast"), ("AIZU_RATE_EMERGENCY_PUSH", "10,"), ("AIZU_RATE_EMERGENCY_EMAIL", "1,2,3"),
        ("AIZU_RATE_EMERGENCY_WEBHOOK", "-5"), ("AIZU_RATE_EMERGENCY_EMAIL", "nan"),
        ("AIZU_RATE_EMERGENCY_PUSH", "10,0.5"),  # a bucket that never holds a whole token would never send
        ("AIZU_RATE_EMAIL", "lots"), ("AIZU_RATE_PUSH", "0.5"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name) as refused:
            service_limits()
        assert repr(value) in str(refused.value), refused.value
        monkeypatch.delenv(name)
