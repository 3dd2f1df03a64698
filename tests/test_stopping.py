"""A copy of a service that stops while filings are in flight: it stops taking requests, lets those
in flight finish (a filing waits for the filer, which is stopped only after them), and answers
every one. A stop used to stop the workers first; a request whose filing the filer had taken into
a batch then waited for ever, and so did the stop.

Real parts: nats-server, SQLite or PostgreSQL, the gateway, the procedures service.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import nats
import pytest

from services.procedures import app as procedures_app
from services.procedures.filing import Filer, Filing, Rows
from services.procedures.settings import ProceduresSettings
from services.runtime.database import create_engine
from services.runtime.settings import PaymentSettings
from tests.conftest import gateway_client, running_procedures

APPS = "/api/v1/applications"
FILINGS = 120


async def test_a_copy_stopped_mid_burst_answers_every_filing_and_loses_none_it_accepted(region, nats_url, procedures_db):
    engine = create_engine(procedures_db)
    nc = await nats.connect(nats_url)
    app = procedures_app.build(ProceduresSettings(catalog_max_age=0, payment=PaymentSettings()))
    await app.start(nc, engine)
    try:
        async with gateway_client(region, nats_url) as gateway:
            user = gateway.as_user("kitakata.resident")

            async def file(n: int):
                headers = {**user, "Idempotency-Key": f"stop-{uuid.uuid4().hex}-{n}"}
                return await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers=headers)

            burst = [asyncio.create_task(file(n)) for n in range(FILINGS)]
            while sum(t.done() for t in burst) < 5:
                await asyncio.sleep(0.005)
            started = time.monotonic()
            await app.stop()
            took = time.monotonic() - started
            replies = await asyncio.wait_for(asyncio.gather(*burst), timeout=30)  # every caller is answered
            assert took < 15, f"stopping took {took:.1f}s"
            accepted = [r.json()["application"]["id"] for r in replies if r.status_code == 201]
            assert accepted and all(r.status_code in (201, 500, 503, 504) for r in replies), {r.status_code for r in replies}
            print(f"{len(accepted)} of {FILINGS} accepted before the stop; stopping took {took:.2f}s")
            # Another copy finds every filing the first one said was filed.
            async with running_procedures(nats_url, procedures_db):
                for application_id in accepted:
                    found = await gateway.get(f"{APPS}/{application_id}", headers=user)
                    assert found.status_code == 200, (application_id, found.text)
    finally:
        await nc.close()
        await engine.dispose()


async def test_the_filer_stopping_answers_who_still_waits_and_skips_who_stopped_waiting() -> None:
    """A request the stopping service cancelled has stopped waiting for its filing (its future is
    cancelled): the filer must not fail on it, and must still answer the others."""
    filer = Filer(None, lambda town: None)  # type: ignore[arg-type] - never started: nothing is written
    given_up, waiting = Filing(tenant="kitakata", rows=Rows()), Filing(tenant="kitakata", rows=Rows())
    given_up.done.cancel()
    for filing in (given_up, waiting):
        filer._queue.put_nowait(filing)
    await filer.stop()
    assert given_up.done.cancelled()
    with pytest.raises(RuntimeError, match="stopping"):
        waiting.done.result()
