"""Catalog reads through the whole platform against a bare forwarding route, in one run.

target:   wrk → gateway (tenant, problems, OTel middleware) → NATS → procedures → SQLite read
baseline: wrk → bare Litestar route → NATS → a service that does no work

Each side runs ROUNDS times, interleaved, and the medians are compared. Run: ``make bench``.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.harness import Processes, WrkRun, cli, median_run, save, wrk
from services.runtime import local_servers

HOST = "kitakata.localhost"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    with Processes() as procs:
        nats_url = procs.nats()
        env = local_servers.environment(
            AIZU_NATS_URL=nats_url,
            AIZU_PROCEDURES_DATABASE_URL=f"sqlite+aiosqlite:///{procs.scratch / 'procedures.db'}",
            AIZU_LOG_LEVEL="WARNING",
        )
        import subprocess

        subprocess.run(cli("migrate"), env=env, check=True, capture_output=True)
        subprocess.run(cli("seed"), env=env, check=True, capture_output=True)
        gateway_port, baseline_port = local_servers.free_port(), local_servers.free_port()
        procs.spawn(cli("serve", "procedures"), env, name="procedures")
        procs.spawn(cli("serve", "gateway"), {**env, "AIZU_GATEWAY_PORT": str(gateway_port)}, gateway_port, "gateway")
        procs.spawn([sys.executable, "-m", "bench.baseline", "service"], env, name="noop")
        procs.spawn([sys.executable, "-m", "bench.baseline", "gateway", str(baseline_port)], env, baseline_port, "bare")
        time.sleep(1.0)

        targets = {
            "baseline (bare route → NATS → no-op)": f"http://127.0.0.1:{baseline_port}/forward",
            "catalog list (GET /api/v1/procedures)": f"http://127.0.0.1:{gateway_port}/api/v1/procedures",
            "procedure detail (GET /api/v1/procedures/{code})": f"http://127.0.0.1:{gateway_port}/api/v1/procedures/juminhyo-copy",
        }
        for url in targets.values():  # warm up every path once
            wrk(url, HOST, connections=args.connections, seconds=2)
        runs: dict[str, list[WrkRun]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                runs[name].append(wrk(url, HOST, connections=args.connections, seconds=args.seconds))

    medians = {name: median_run(r) for name, r in runs.items()}
    base = next(iter(medians.values()))
    print(f"\n{args.rounds} rounds × {args.seconds}s, {args.connections} connections, medians:\n")
    print(f"{'':52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} {'errors':>6}")
    for name, m in medians.items():
        print(f"{name:52} {m.rps:9.0f} {m.p50_ms:8.2f} {m.p99_ms:8.2f} {m.rps / base.rps:7.2f} {m.errors:6d}")
    path = save("catalog", {"rounds": args.rounds, "seconds": args.seconds, "connections": args.connections,
                            "medians": medians, "runs": runs})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
