"""Submissions per second end to end: accepted → event published → consumed from JetStream.

wrk posts applications (each with its own Idempotency-Key, as a jpki resident submitting with no
typed fields); a durable-less JetStream consumer in this process counts the `submitted` events.
End-to-end rate = events consumed / time from the first request to the last event. The baseline
(bare route → NATS → no-op) runs in the same run. SQLite and PostgreSQL (embedded) both measured.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nats
from nats.js.api import DeliverPolicy

from bench.catalog import HOST, baseline, bearer
from bench.harness import Processes, cli, save, wrk
from services.runtime import local_servers

SCRIPT = Path(__file__).with_name("submit.lua")


def stack(procs: Processes, db_url: str, name: str) -> tuple[int, dict[str, str]]:
    port = local_servers.free_port()
    env = local_servers.environment(
        AIZU_NATS_URL=procs.nats(),
        AIZU_PROCEDURES_DATABASE_URL=db_url,
        AIZU_GATEWAY_PORT=str(port),
        AIZU_OIDC_ISSUER=f"http://127.0.0.1:{port}/realms/aizu",
        AIZU_OIDC_KEY_DIR=str(procs.scratch / "issuer"),
        AIZU_LOG_LEVEL="WARNING",
    )
    subprocess.run(cli("migrate"), env=env, check=True, capture_output=True)
    subprocess.run(cli("seed"), env=env, check=True, capture_output=True)
    procs.spawn(cli("serve", "procedures"), env, name=f"procedures-{name}")
    procs.spawn(cli("serve", "gateway"), env, port, name=f"gateway-{name}")
    return port, env


async def measure(port: int, env: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    nc = await nats.connect(env["AIZU_NATS_URL"])
    js = nc.jetstream()
    consumed = 0
    last = 0.0

    async def count(msg) -> None:
        nonlocal consumed, last
        consumed += 1
        last = time.monotonic()

    await js.subscribe("aizu.evt.kitakata.application.submitted", cb=count, ordered_consumer=True,
                       deliver_policy=DeliverPolicy.NEW)
    headers = bearer(env, "kitakata.resident")
    started = time.monotonic()
    run = await asyncio.to_thread(
        wrk, f"http://127.0.0.1:{port}/api/v1/applications", HOST,
        connections=connections, seconds=seconds, headers=headers, script=SCRIPT, script_args=[uuid.uuid4().hex],
    )
    accepted = run.requests - run.errors
    deadline = time.monotonic() + 60
    while consumed < accepted and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await nc.close()
    return {
        "accepted_per_s": run.rps,
        "p50_ms": run.p50_ms,
        "p99_ms": run.p99_ms,
        "errors": run.errors,
        "accepted": accepted,
        "consumed": consumed,
        "end_to_end_per_s": consumed / (last - started) if consumed else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {}
    with Processes() as procs:
        pg = local_servers.EmbeddedPostgres(procs.scratch / "pg")
        procs.callback(pg.stop)
        pg.ensure_database("procedures")
        bare = baseline(procs)
        stacks = {
            "SQLite": stack(procs, f"sqlite+aiosqlite:///{procs.scratch / 'procedures.db'}", "sqlite"),
            "PostgreSQL": stack(procs, pg.url("procedures"), "postgres"),
        }
        time.sleep(1.0)
        base = []
        for _ in range(args.rounds):
            base.append(wrk(f"http://127.0.0.1:{bare}/forward", HOST, connections=args.connections, seconds=args.seconds).rps)
            for name, (port, env) in stacks.items():
                results.setdefault(name, []).append(asyncio.run(measure(port, env, args.seconds, args.connections)))
    baseline_rps = statistics.median(base)
    print(f"\nmedians of {args.rounds} rounds × {args.seconds}s, {args.connections} connections:\n")
    print(f"{'':12} {'accepted/s':>10} {'end-to-end/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'lost':>5} {'vs baseline':>11}")
    print(f"{'baseline':12} {baseline_rps:10.0f} {'':>12} {'':>7} {'':>7} {'':>5} {1.0:11.2f}")
    for name, rounds in results.items():
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        # wrk counts the requests answered within its run; a few more finish just after it, so
        # consumed may exceed accepted. Lost is an accepted filing whose event never arrived.
        lost = sum(max(0, r["accepted"] - r["consumed"]) for r in rounds)
        print(f"{name:12} {med['accepted_per_s']:10.0f} {med['end_to_end_per_s']:12.0f} {med['p50_ms']:7.1f} "
              f"{med['p99_ms']:7.1f} {lost:5.0f} {med['end_to_end_per_s'] / baseline_rps:11.2f}")
    path = save("submissions", {"args": vars(args), "baseline_rps": base, "results": results})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
