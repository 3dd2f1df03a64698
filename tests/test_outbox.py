"""No event is lost when the service or NATS stops between commit and publish."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import nats
from sqlalchemy import delete, select

from contracts import subjects
from services.procedures.models import OutboxRow
from services.runtime import local_servers
from services.runtime.database import create_engine, session_factory
from tests.conftest import gateway_client, running_procedures


async def _stream_ids(nats_url: str, subject: str) -> list[str]:
    """Every Nats-Msg-Id stored in AIZU_EVENTS under ``subject`` (read with an ordered consumer)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    ids = []
    sub = await js.subscribe(subject, ordered_consumer=True)
    try:
        while True:
            msg = await sub.next_msg(timeout=0.5)
            ids.append(msg.headers["Nats-Msg-Id"])
    except nats.errors.TimeoutError:
        return ids
    finally:
        await nc.close()


async def _unpublished(db_url: str, event_id: str) -> bool:
    engine = create_engine(db_url)
    async with session_factory(engine)() as session:
        row = (await session.execute(select(OutboxRow).where(OutboxRow.id == event_id))).scalar_one()
    await engine.dispose()
    return row.published_at is None


async def test_events_committed_while_the_service_stops_are_published_after_restart(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db) as services, gateway_client(region, nats_url) as client:
        # The service dies after its commit, before its relay could publish.
        await services[0].app.components.applications.relay.stop()
        created = await client.post(
            "/api/v1/applications",
            json={"code": "juminhyo-copy"},
            headers={**client.as_user("showa.resident"), "host": "showa.localhost", "idempotency-key": str(uuid.uuid4())},
        )
        assert created.status_code == 201, created.text
    app_id = created.json()["application"]["id"]
    engine = create_engine(procedures_db)
    async with session_factory(engine)() as session:
        rows = (await session.execute(select(OutboxRow).where(OutboxRow.tenant == "showa"))).scalars().all()
        event_id = next(r.id for r in rows if json.loads(r.payload).get("application_id") == app_id)
    await engine.dispose()
    assert await _unpublished(procedures_db, event_id)
    assert event_id not in await _stream_ids(nats_url, "aizu.evt.showa.application.submitted")

    async with running_procedures(nats_url, procedures_db):  # restarted: its relay finds the row
        for _ in range(100):
            if not await _unpublished(procedures_db, event_id):
                break
            await asyncio.sleep(0.05)
    ids = await _stream_ids(nats_url, "aizu.evt.showa.application.submitted")
    assert ids.count(event_id) == 1


async def test_events_committed_while_nats_is_down_are_published_when_it_returns(tmp_path, procedures_db):
    port = local_servers.free_port()
    url = f"nats://127.0.0.1:{port}"
    store = tmp_path / "nats"
    server = local_servers.start_nats(store, port)
    try:
        async with running_procedures(url, procedures_db) as services:
            relay = services[0].app.components.applications.relay
            local_servers.stop(server)  # NATS goes away ...
            ids = [str(uuid.uuid4()) for _ in range(3)]
            engine = create_engine(procedures_db)
            async with session_factory(engine)() as session, session.begin():
                for event_id in ids:  # ... while the service commits changes with events
                    payload = json.dumps({"event_id": event_id, "tenant": "yugawa"}).encode()
                    session.add(OutboxRow(id=event_id, tenant="yugawa", payload=payload, created_at=datetime.now(UTC),
                                          subject=subjects.event("yugawa", "application", "submitted")))
            await engine.dispose()
            relay.notify()
            await asyncio.sleep(1.5)  # the relay tries, fails, and keeps the rows
            assert all([await _unpublished(procedures_db, i) for i in ids])
            server = local_servers.start_nats(store, port)  # NATS returns with its stored streams
            for _ in range(200):
                if not any([await _unpublished(procedures_db, i) for i in ids]):
                    break
                await asyncio.sleep(0.05)
        stored = await _stream_ids(url, "aizu.evt.yugawa.application.submitted")
        assert sorted(stored) == sorted(ids)
    finally:
        local_servers.stop(server)


async def test_a_row_no_stream_takes_does_not_hold_back_the_others(nats_url, procedures_db):
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    engine = create_engine(procedures_db)
    async with session_factory(engine)() as session, session.begin():
        for event_id, subject in ((bad, "nowhere.at.all"), (good, subjects.event("kaneyama", "application", "submitted"))):
            session.add(OutboxRow(id=event_id, tenant="kaneyama", subject=subject, created_at=datetime.now(UTC),
                                  payload=json.dumps({"event_id": event_id}).encode()))
    await engine.dispose()
    async with running_procedures(nats_url, procedures_db):
        for _ in range(100):
            if not await _unpublished(procedures_db, good):
                break
            await asyncio.sleep(0.05)
    assert not await _unpublished(procedures_db, good)
    assert await _unpublished(procedures_db, bad)
    assert good in await _stream_ids(nats_url, "aizu.evt.kaneyama.application.submitted")
    engine = create_engine(procedures_db)
    async with session_factory(engine)() as session, session.begin():
        await session.execute(delete(OutboxRow).where(OutboxRow.id == bad))  # leave no poison for later tests
    await engine.dispose()
