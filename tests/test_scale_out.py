"""Several copies of a service share one queue group; discovery finds them all."""

from __future__ import annotations

import json

import nats

from tests.conftest import gateway_client, running_procedures


async def _stats(nats_url: str) -> list[dict]:
    nc = await nats.connect(nats_url)
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("$SRV.STATS.procedures", b"", reply=inbox)
    replies = []
    try:
        while True:
            replies.append(json.loads((await sub.next_msg(timeout=0.5)).data))
    except nats.errors.TimeoutError:
        pass
    finally:
        await nc.close()
    return replies


async def test_two_copies_both_answer(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db, copies=2) as copies:
        async with gateway_client(region, nats_url) as client:
            ready = (await client.get("/readyz")).json()
            assert {"name": "procedures", "instances": 2} in ready["services"]
            for _ in range(40):
                assert (await client.get("/api/v1/procedures")).status_code == 200
        stats = await _stats(nats_url)
    ids = {c.app.micro.id for c in copies}
    served = {
        s["id"]: sum(e["num_requests"] for e in s["endpoints"] if e["name"] == "list") for s in stats if s["id"] in ids
    }
    assert set(served) == ids
    assert sum(served.values()) == 40
    assert all(count > 0 for count in served.values()), served
