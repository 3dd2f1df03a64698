"""Filings with the fee paid online against the same filings paid at the counter, end to end.

Residents (concurrent clients) file 住民票の写し (2 copies, 600 円). Without payment a filing is
done when its ``application.submitted`` event is consumed from JetStream (it is in the town's
queue). With payment it is done when its ``application.status_changed`` to ``received`` is
consumed: filed → the provider's page opened → the card typed on it (the stand-in's hosted page,
a real HTTP form) → the provider's signed webhook → settled into the queue. Same processes, same
database, same clients, in the same run: the ratio is the cost of the payment step.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid

import httpx
import msgspec
import nats
from nats.js.api import DeliverPolicy

from bench.catalog import HOST, bearer
from bench.harness import Processes, cli, save
from services import psp_standin
from services.runtime import local_servers

CARD = {"card_number": "4242424242424242", "expiry": "12/30", "cvc": "123"}


def stack(procs: Processes, db_url: str, name: str) -> tuple[int, dict[str, str]]:
    port, psp_port = local_servers.free_port(), local_servers.free_port()
    env = local_servers.environment(
        AIZU_NATS_URL=procs.nats(),
        AIZU_PROCEDURES_DATABASE_URL=db_url,
        AIZU_GATEWAY_PORT=str(port),
        AIZU_OIDC_ISSUER=f"http://127.0.0.1:{port}/realms/aizu",
        AIZU_OIDC_KEY_DIR=str(procs.scratch / "issuer"),
        AIZU_LOG_LEVEL="WARNING",
        AIZU_PSP_URL=f"http://127.0.0.1:{psp_port}",
        AIZU_PSP_SECRET_KEY=psp_standin.SECRET_KEY,
        AIZU_PSP_WEBHOOK_SECRET=psp_standin.WEBHOOK_SECRET,
        AIZU_PSP_WEBHOOK_URL=f"http://{{tenant}}.localhost:{port}/api/v1/payments/webhook",
    )
    subprocess.run(cli("migrate"), env=env, check=True, capture_output=True)
    subprocess.run(cli("seed"), env=env, check=True, capture_output=True)
    procs.spawn(cli("serve", "psp"), env, psp_port, name=f"psp-{name}")
    procs.spawn(cli("serve", "procedures"), env, name=f"procedures-{name}")
    procs.spawn(cli("serve", "gateway"), env, port, name=f"gateway-{name}")
    return port, env


class Done:
    """The events that say a filing reached the town's queue, by application id."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def seen(self, application_id: str) -> None:
        now = time.monotonic()
        self.at.setdefault(application_id, now)
        waiter = self._waiting.pop(application_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)

    async def wait(self, application_id: str, timeout: float = 60) -> float:
        if application_id in self.at:
            return self.at[application_id]
        waiter = self._waiting.setdefault(application_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(waiter, timeout)


async def measure(port: int, env: dict[str, str], filings: int, concurrency: int, pay: bool) -> dict[str, float]:
    nc = await nats.connect(env["AIZU_NATS_URL"])
    js = nc.jetstream()
    done = Done()

    async def submitted(msg) -> None:  # type: ignore[no-untyped-def]
        if not pay:
            done.seen(msgspec.json.decode(msg.data)["application_id"])

    async def moved(msg) -> None:  # type: ignore[no-untyped-def]
        event = msgspec.json.decode(msg.data)
        if pay and event["to_status"] == "received" and event["from_status"] == "awaiting_payment":
            done.seen(event["application_id"])

    for subject, cb in (("submitted", submitted), ("status_changed", moved)):
        await js.subscribe(f"aizu.evt.kitakata.application.{subject}", cb=cb, ordered_consumer=True,
                           deliver_policy=DeliverPolicy.NEW)
    auth = bearer(env, "kitakata.resident")
    origin = f"http://{HOST}:{port}"
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"host": HOST, **auth}, timeout=30) as api, \
            httpx.AsyncClient(timeout=30) as browser:

        async def one() -> None:
            async with gate:
                began = time.monotonic()
                body = {"code": "juminhyo-copy", "answers": {"copies": "2"}, "payment": "online" if pay else "counter"}
                filed = await api.post("/api/v1/applications", json=body, headers={"idempotency-key": str(uuid.uuid4())})
                filed.raise_for_status()
                application_id = filed.json()["application"]["id"]
                if pay:
                    page = await api.post(f"/api/v1/applications/{application_id}/payment", json={"return_origin": origin})
                    page.raise_for_status()
                    paid = await browser.post(page.json()["url"], data=CARD)
                    assert paid.status_code == 303, paid.text
                latencies.append(await done.wait(application_id) - began)

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(filings)))
        elapsed = max(done.at.values()) - started
    await nc.close()
    return {"per_s": filings / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p90_ms": statistics.quantiles(latencies, n=10)[-1] * 1000, "filings": filings}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--filings", type=int, default=200, help="filings per measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (embedded) instead of SQLite")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"counter": [], "online": []}
    with Processes() as procs:
        if args.postgres:
            pg = local_servers.EmbeddedPostgres(procs.scratch / "pg")
            procs.callback(pg.stop)
            pg.ensure_database("procedures")
            url = pg.url("procedures")
        else:
            url = f"sqlite+aiosqlite:///{procs.scratch / 'procedures.db'}"
        port, env = stack(procs, url, "postgres" if args.postgres else "sqlite")
        time.sleep(1.0)
        asyncio.run(measure(port, env, 20, args.concurrency, pay=True))  # warm-up
        for _ in range(args.rounds):  # interleaved, so drift falls on both alike
            for arm in ("counter", "online"):
                results[arm].append(asyncio.run(measure(port, env, args.filings, args.concurrency, pay=arm == "online")))
    med = {arm: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]} for arm, rounds in results.items()}
    db = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nmedians of {args.rounds} rounds × {args.filings} filings, {args.concurrency} at a time ({db}):\n")
    print(f"{'':28} {'filings/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'ratio':>6}")
    for arm, label in (("counter", "paid at the counter (base)"), ("online", "paid online, webhook")):
        m = med[arm]
        print(f"{label:28} {m['per_s']:9.1f} {m['p50_ms']:8.0f} {m['p90_ms']:8.0f} {m['per_s'] / med['counter']['per_s']:6.2f}")
    path = save("payments-postgres" if args.postgres else "payments", {"args": vars(args), "results": results})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
