"""Catalog reads through the whole platform against a bare forwarding route, in one run.

baseline:  wrk → bare Litestar route → NATS → a service that does no work
db read:   wrk → gateway → NATS → procedures → one indexed database read per request
cached:    the same, with the service's default in-memory copy of each town's catalog
prefill:   a resident's bearer token verified by the gateway (python-keycloak, JWKS from the
           development issuer), the principal forwarded, the form filled from the identity

Every side has its own nats-server, so only the side under load is busy. Each runs ROUNDS times,
interleaved, and medians are compared. Run: ``make bench`` (or ``python -m bench.catalog``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.harness import Processes, WrkRun, cli, median_run, save, wrk
from services.runtime import local_servers

HOST = "kitakata.localhost"


def platform(procs: Processes, db_url: str, cache_seconds: int) -> tuple[int, dict[str, str]]:
    """NATS, one procedures service and the gateway, as `aizu serve` runs them: port and environment."""
    port = local_servers.free_port()
    env = local_servers.environment(
        AIZU_OIDC_ISSUER=f"http://127.0.0.1:{port}/realms/aizu",
        AIZU_OIDC_KEY_DIR=str(procs.scratch / "issuer"),
        AIZU_NATS_URL=procs.nats(),
        AIZU_PROCEDURES_DATABASE_URL=db_url,
        AIZU_CATALOG_CACHE_SECONDS=str(cache_seconds),
        AIZU_GATEWAY_PORT=str(port),
        AIZU_LOG_LEVEL="WARNING",
    )
    procs.spawn(cli("serve", "procedures"), env, name=f"procedures-{cache_seconds}")
    procs.spawn(cli("serve", "gateway"), env, port, name=f"gateway-{cache_seconds}")
    return port, env


def bearer(env: dict[str, str], username: str) -> dict[str, str]:
    """A fresh token from the development issuer (tokens live 5 minutes: one per measurement)."""
    token = subprocess.run(cli("dev", "token", username), env=env, check=True, capture_output=True, text=True).stdout
    return {"Authorization": f"Bearer {token.strip()}"}


def baseline(procs: Processes) -> int:
    port = local_servers.free_port()
    env = local_servers.environment(AIZU_NATS_URL=procs.nats())
    procs.spawn([sys.executable, "-m", "bench.baseline", "service"], env, name="noop")
    procs.spawn([sys.executable, "-m", "bench.baseline", "gateway", str(port)], env, port, "bare")
    return port


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    with Processes() as procs:
        db_url = f"sqlite+aiosqlite:///{procs.scratch / 'procedures.db'}"
        env = local_servers.environment(AIZU_PROCEDURES_DATABASE_URL=db_url, AIZU_LOG_LEVEL="WARNING")
        subprocess.run(cli("migrate"), env=env, check=True, capture_output=True)
        subprocess.run(cli("seed"), env=env, check=True, capture_output=True)
        bare = baseline(procs)
        uncached, _ = platform(procs, db_url, 0)
        cached, cached_env = platform(procs, db_url, 30)
        time.sleep(1.0)
        detail = "/api/v1/procedures/juminhyo-copy"
        resident = lambda: bearer(cached_env, "kitakata.resident")  # noqa: E731
        targets = {
            "baseline: bare route → NATS → no-op": (f"http://127.0.0.1:{bare}/forward", dict),
            "detail, database read per request": (f"http://127.0.0.1:{uncached}{detail}", dict),
            "list, database read per request": (f"http://127.0.0.1:{uncached}/api/v1/procedures", dict),
            "detail, catalog kept in memory": (f"http://127.0.0.1:{cached}{detail}", dict),
            "list, catalog kept in memory": (f"http://127.0.0.1:{cached}/api/v1/procedures", dict),
            "prefill, bearer token verified": (f"http://127.0.0.1:{cached}{detail}/prefill", resident),
        }
        for url, headers in targets.values():  # warm every path once
            wrk(url, HOST, connections=args.connections, seconds=2, headers=headers())
        runs: dict[str, list[WrkRun]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, (url, headers) in targets.items():
                runs[name].append(wrk(url, HOST, connections=args.connections, seconds=args.seconds, headers=headers()))

    medians = {name: median_run(r) for name, r in runs.items()}
    base = next(iter(medians.values()))
    print(f"\nmedians of {args.rounds} rounds × {args.seconds}s, {args.connections} connections (SQLite):\n")
    print(f"{'':40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'errors':>6}")
    for name, m in medians.items():
        print(f"{name:40} {m.rps:8.0f} {m.p50_ms:8.2f} {m.p99_ms:8.2f} {m.rps / base.rps:6.2f} {m.errors:6d}")
    path = save("catalog", {"args": vars(args), "medians": medians, "runs": runs})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
