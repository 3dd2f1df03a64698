"""Killing the notifications service mid-broadcast loses nothing and doubles nothing.

The service runs as its own process (``python -m services.cli serve notifications``, configured
by environment variables as in production) against its own nats-server and database. A
region-wide emergency alert to 40,000 residents, every one of them reached by email, is approved;
while the fan-out is part-way the process gets SIGKILL (no clean-up of any kind), then starts
again. JetStream delivers the unacked work items again and the fan-out resumes at the committed
cursors: every resident ends with exactly one inbox message and one email delivery.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest
from sqlalchemy import text

from contracts import broadcasts as b
from contracts.errors import ServiceFailure
from contracts.subjects import NOTIFICATIONS
from contracts.tenants import Region
from services.notifications.app import MIGRATIONS
from services.notifications.broadcasts.residents import seed
from services.runtime import local_servers
from services.runtime.client import BusClient
from services.runtime.database import create_engine, migrate, session_factory
from tests.conftest import NOTIFICATIONS_APP, NOTIFICATIONS_OWNER, _login_role
from tests.test_broadcasts import alert, council

TOTAL = 40_000
BACKENDS = ("sqlite", "postgres")


def _databases(backend: str, tmp_path: Path, postgres: local_servers.EmbeddedPostgres) -> tuple[str, str, str]:
    """(the service's URL, the owner's URL for seeding, an observer's URL that sees every town)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"
        migrate(MIGRATIONS, url)
        return url, url, url
    name = f"notifications_restart_{os.getpid()}"
    _login_role(postgres, NOTIFICATIONS_OWNER)
    _login_role(postgres, NOTIFICATIONS_APP)
    postgres.psql(f"DROP DATABASE IF EXISTS {name};")
    postgres.psql(f"CREATE DATABASE {name} OWNER {NOTIFICATIONS_OWNER};")
    owner = postgres.url(name, user=NOTIFICATIONS_OWNER)
    migrate(MIGRATIONS, owner, "head", NOTIFICATIONS_APP)
    return postgres.url(name, user=NOTIFICATIONS_APP), owner, postgres.url(name)


async def _scalar(url: str, sql: str, **params: object) -> tuple:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return tuple((await conn.execute(text(sql), params)).one())
    finally:
        await engine.dispose()


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "notifications"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


async def _ready(bus: BusClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "the notifications service exited"
        try:
            await bus.request("council", NOTIFICATIONS, b.BROADCASTS, b'{"limit": 1}', council(1))
            return
        except ServiceFailure:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_mid_fanout_then_restart_notifies_everyone_exactly_once(
    backend: str, tmp_path: Path, postgres: local_servers.EmbeddedPostgres, region: Region
) -> None:
    # Alembic runs its own event loop: off this one.
    url, owner, observer = await asyncio.to_thread(_databases, backend, tmp_path, postgres)
    engine = create_engine(owner)
    async with session_factory(engine)() as session:
        await seed(session, region, TOTAL, email_share=1.0)
    await engine.dispose()

    port = local_servers.free_port()
    broker = local_servers.start_nats(tmp_path / "nats", port)
    env = local_servers.environment(
        AIZU_NATS_URL=f"nats://127.0.0.1:{port}",
        AIZU_NOTIFICATIONS_DATABASE_URL=url,
        # Nobody listens there: the deliveries stay queued (one retry an hour), which is all we count.
        AIZU_SMTP_HOST="127.0.0.1",
        AIZU_SMTP_PORT=str(local_servers.free_port()),
        AIZU_SMTP_RETRY_SECONDS="3600",
        AIZU_BROADCAST_CHUNK="500",
        AIZU_LOG_LEVEL="WARNING",
    )
    log = tmp_path / "notifications.log"
    process = _serve(env, log)
    nc = await nats.connect(env["AIZU_NATS_URL"])
    try:
        bus = BusClient(nc, 15)
        await _ready(bus, process)
        draft = await bus.fetch("council", NOTIFICATIONS, b.BROADCAST, alert(target="region"), b.Broadcast, council(1))
        await bus.fetch("council", NOTIFICATIONS, b.APPROVE_BROADCAST, b.ApproveBroadcast(id=draft.id), b.Broadcast, council(2))
        progress = "SELECT COALESCE(SUM(inbox), 0), COUNT(finished_at) FROM broadcast_fanouts WHERE broadcast_id = :id"
        deadline = time.monotonic() + 60
        while (written := (await _scalar(observer, progress, id=draft.id))[0]) < TOTAL // 5:
            assert time.monotonic() < deadline, f"fan-out did not start: {log.read_text()[-2000:]}"
            await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        written, finished = await _scalar(observer, progress, id=draft.id)
        assert 0 < written < TOTAL and finished < 13, "killed too late to show anything"

        process = _serve(env, log)
        deadline = time.monotonic() + 120
        while (await _scalar(observer, progress, id=draft.id))[1] < 13:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            await asyncio.sleep(0.2)

        inbox = await _scalar(observer, "SELECT COUNT(*), COUNT(DISTINCT recipient) FROM inbox_messages WHERE event_id = :id",
                              id=draft.id)
        assert inbox == (TOTAL, TOTAL)
        missing = await _scalar(observer, "SELECT COUNT(*) FROM residents r WHERE NOT EXISTS (SELECT 1 FROM inbox_messages m "
                                "WHERE m.tenant = r.tenant AND m.recipient = r.subject AND m.event_id = :id)", id=draft.id)
        assert missing == (0,)
        key = "b" + draft.id.replace("-", "")[:20]
        emails = await _scalar(observer, "SELECT COUNT(*), COUNT(DISTINCT message_id), MIN(channel), MAX(channel) "
                               "FROM deliveries WHERE message_id LIKE :k", k=f"{key}.%")
        assert emails == (TOTAL, TOTAL, "email", "email")
        reach = await _scalar(observer, "SELECT SUM(inbox), SUM(deliveries), SUM(residents) FROM broadcast_fanouts "
                              "WHERE broadcast_id = :id", id=draft.id)
        assert reach == (TOTAL, TOTAL, TOTAL)
    finally:
        await nc.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        local_servers.stop(broker)
