"""Real servers for every test: a nats-server from its wheel and an embedded PostgreSQL.

Both start once per session on free ports under a temporary directory. The procedures tests run
against PostgreSQL and SQLite alike through the ``backend`` parameter.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import nats
import pytest
import uvicorn
from litestar import Litestar
from msgspec.structs import replace
from nats.aio.client import Client

from contracts.tenants import Region, default_directory, load_region
from gateway import ratelimit
from gateway.app import create_app
from gateway.devissuer.settings import IssuerSettings
from gateway.devissuer.tokens import dev_token
from gateway.settings import GatewaySettings
from services.insights import app as insights_app
from services.insights.settings import InsightsSettings
from services.notifications import app as notifications_app
from services.notifications.channels.mailer import SmtpSettings
from services.notifications.channels.smtp_sink import MailSink
from services.notifications.settings import NotificationsSettings
from services.portal import app as portal_app
from services.portal.settings import PortalSettings
from services.procedures import app as procedures_app
from services.procedures.seed import seed_catalog
from services.procedures.settings import ProceduresSettings
from services.runtime import local_servers
from services.runtime.database import create_engine, migrate, session_factory
from services.runtime.service import ServiceApp
from services.runtime.settings import BusSettings, PaymentSettings

BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def region() -> Region:
    return load_region(default_directory())


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = local_servers.free_port()
    process = local_servers.start_nats(tmp_path_factory.mktemp("nats"), port)
    yield f"nats://127.0.0.1:{port}"
    local_servers.stop(process)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_servers.EmbeddedPostgres]:
    pg = local_servers.EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory, postgres: local_servers.EmbeddedPostgres) -> dict[str, str]:
    """One migrated procedures database per backend, for the whole session."""
    pg_name = f"procedures_{os.getpid()}"
    postgres.ensure_database(pg_name)
    return {
        "sqlite": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'procedures.db'}",
        "postgres": postgres.url(pg_name),
    }


_seeded: set[str] = set()


@pytest.fixture(scope="session", params=BACKENDS)
async def procedures_db(request: pytest.FixtureRequest, database_urls: dict[str, str], region: Region) -> str:
    url = database_urls[request.param]
    if url not in _seeded:
        await asyncio.to_thread(migrate, procedures_app.MIGRATIONS, url)
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            await seed_catalog(session, region)
        await engine.dispose()
        _seeded.add(url)
    return url


#: The notifications database on PostgreSQL is set up as in production: owned and migrated by a
#: role that is no superuser, used by an app role bound by row-level security (NOBYPASSRLS).
NOTIFICATIONS_OWNER = "notifications_owner_test"
NOTIFICATIONS_APP = "notifications_app_test"


def _login_role(postgres: local_servers.EmbeddedPostgres, name: str) -> None:
    postgres.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$;"
    )


def _service_databases(
    tmp_path_factory: pytest.TempPathFactory, postgres: local_servers.EmbeddedPostgres,
    service: str, migrations: Path, owner: str, app: str,
) -> dict[str, str]:
    """One migrated database of ``service`` per backend. On PostgreSQL as in production: owned and
    migrated by ``owner`` (no superuser), used by ``app`` (NOBYPASSRLS, bound by row-level security)."""
    pg_name = f"{service}_{os.getpid()}"
    _login_role(postgres, owner)
    _login_role(postgres, app)
    postgres.psql(f"DROP DATABASE IF EXISTS {pg_name};")
    postgres.psql(f"CREATE DATABASE {pg_name} OWNER {owner};")
    sqlite = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp(f'sqlite-{service}') / f'{service}.db'}"
    migrate(migrations, sqlite)
    migrate(migrations, postgres.url(pg_name, user=owner), "head", app)
    return {"sqlite": sqlite, "postgres": postgres.url(pg_name, user=app)}


@pytest.fixture(scope="session")
def notifications_urls(tmp_path_factory: pytest.TempPathFactory, postgres: local_servers.EmbeddedPostgres) -> dict[str, str]:
    """One migrated notifications database per backend, for the whole session."""
    return _service_databases(tmp_path_factory, postgres, "notifications", notifications_app.MIGRATIONS, NOTIFICATIONS_OWNER, NOTIFICATIONS_APP)


@pytest.fixture(scope="session", params=BACKENDS)
def notifications_db(request: pytest.FixtureRequest, notifications_urls: dict[str, str]) -> str:
    return notifications_urls[request.param]


#: For a test that runs procedures and notifications together: both on the same backend, not all
#: four pairs (``@same_backend`` above the test, or ``pytestmark = same_backend``).
same_backend = pytest.mark.parametrize(
    ("procedures_db", "notifications_db"), [(b, b) for b in BACKENDS], ids=list(BACKENDS), indirect=True
)


@dataclass
class RunningService:
    app: ServiceApp
    nc: Client

    async def stop(self) -> None:
        await self.app.stop()
        await self.nc.drain()


@asynccontextmanager
async def running_procedures(
    nats_url: str, db_url: str, copies: int = 1, catalog_max_age: float = 0, payment: PaymentSettings | None = None
) -> AsyncIterator[list[RunningService]]:
    """Copies of the procedures service; by default every catalog read goes to the database, and
    fees are paid at the counter only (``payment``: the payment provider)."""
    engine = create_engine(db_url)
    running = []
    for _ in range(copies):
        nc = await nats.connect(nats_url)
        settings = replace(ProceduresSettings.from_env(), catalog_max_age=catalog_max_age, payment=payment or PaymentSettings())
        app = procedures_app.build(settings)
        await app.start(nc, engine)
        running.append(RunningService(app=app, nc=nc))
    try:
        yield running
    finally:
        for r in running:
            await r.stop()
        await engine.dispose()


@asynccontextmanager
async def mail_sink(directory: Path) -> AsyncIterator[MailSink]:
    """The SMTP sink on a free loopback port: the town's relay, for real, storing under ``directory``."""
    sink = MailSink(directory)
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()


def smtp_to(sink: MailSink, retry_backoff: tuple[float, ...] = (0.5, 0.5)) -> SmtpSettings:
    return SmtpSettings(host=sink.host, port=sink.port, timeout=5, retry_backoff=retry_backoff)


@asynccontextmanager
async def running_notifications(
    nats_url: str, db_url: str, smtp: SmtpSettings | None = None, region: Region | None = None, caught_up: bool = True
) -> AsyncIterator[RunningService]:
    """The notifications service; by default it has handled every event already in the stream
    (other tests' too) before the test goes on. Without ``smtp`` its mail goes nowhere that listens."""
    engine = create_engine(db_url)
    nc = await nats.connect(nats_url)
    smtp = smtp or SmtpSettings(port=local_servers.free_port(), timeout=1)
    app = notifications_app.build(replace(NotificationsSettings.from_env(), smtp=smtp, sender_poll_seconds=0.2), region)
    await app.start(nc, engine)
    running = RunningService(app=app, nc=nc)
    try:
        if caught_up:
            await app.components.events.caught_up(timeout=30)
        yield running
    finally:
        await running.stop()
        await engine.dispose()


#: The insights database on PostgreSQL, as in production: owned by a role that migrates it, used
#: by an app role bound by row-level security (it reads across towns town by town).
INSIGHTS_OWNER = "insights_owner_test"
INSIGHTS_APP = "insights_app_test"


@pytest.fixture(scope="session")
def insights_urls(tmp_path_factory: pytest.TempPathFactory, postgres: local_servers.EmbeddedPostgres) -> dict[str, str]:
    """One migrated insights database per backend, for the whole session."""
    return _service_databases(tmp_path_factory, postgres, "insights", insights_app.MIGRATIONS, INSIGHTS_OWNER, INSIGHTS_APP)


@pytest.fixture(scope="session", params=BACKENDS)
def insights_db(request: pytest.FixtureRequest, insights_urls: dict[str, str]) -> str:
    return insights_urls[request.param]


@asynccontextmanager
async def running_insights(
    nats_url: str, db_url: str, region: Region | None = None, caught_up: bool = True
) -> AsyncIterator[RunningService]:
    """The insights service; by default it has counted every event already in the stream first."""
    engine = create_engine(db_url)
    nc = await nats.connect(nats_url)
    app = insights_app.build(InsightsSettings.from_env(), region)
    await app.start(nc, engine)
    running = RunningService(app=app, nc=nc)
    try:
        if caught_up:
            for part in ("applications", "deliveries"):
                await getattr(app.components, part).caught_up(timeout=30)
        yield running
    finally:
        await running.stop()
        await engine.dispose()


#: The portal database on PostgreSQL, as in production: owned by a role that migrates it, used by
#: an app role bound by row-level security (the FAQ's log of unanswered questions).
PORTAL_OWNER = "portal_owner_test"
PORTAL_APP = "portal_app_test"


@pytest.fixture(scope="session")
def portal_urls(tmp_path_factory: pytest.TempPathFactory, postgres: local_servers.EmbeddedPostgres) -> dict[str, str]:
    """One migrated portal database per backend, for the whole session."""
    return _service_databases(tmp_path_factory, postgres, "portal", portal_app.MIGRATIONS, PORTAL_OWNER, PORTAL_APP)


@pytest.fixture(scope="session", params=BACKENDS)
def portal_db(request: pytest.FixtureRequest, portal_urls: dict[str, str]) -> str:
    return portal_urls[request.param]


@asynccontextmanager
async def running_portal(nats_url: str, db_url: str, region: Region | None = None) -> AsyncIterator[RunningService]:
    """The portal service: its pages and the FAQ."""
    engine = create_engine(db_url)
    nc = await nats.connect(nats_url)
    app = portal_app.build(PortalSettings.from_env(), region)
    await app.start(nc, engine)
    running = RunningService(app=app, nc=nc)
    try:
        yield running
    finally:
        await running.stop()
        await engine.dispose()


#: The development issuer's signing keys for this test session (never the developer's var/).
ISSUER_KEYS = Path(tempfile.gettempdir()) / f"aizu-test-issuer-{os.getpid()}"


#: Tests call from one address far faster than any person: limits are lifted, except where a test
#: sets its own (``rate_limits=`` and an address of its own, tests/test_rate_limits.py).
UNLIMITED = {name: (1_000_000, 60) for name in ratelimit.DEFAULTS}


def gateway_settings(nats_url: str, port: int, **overrides: object) -> GatewaySettings:
    """Development settings with the built-in issuer served by this very gateway."""
    bus = BusSettings(servers=[nats_url], request_timeout=float(overrides.pop("timeout", 2.0)))  # type: ignore[arg-type]
    values: dict[str, object] = {
        "oidc_issuer": f"http://127.0.0.1:{port}/realms/aizu",
        "dev_issuer": True,
        "dev_issuer_key_dir": str(ISSUER_KEYS),
        "rate_limits": UNLIMITED,
        **overrides,
    }
    return GatewaySettings(bus=bus, **values)  # type: ignore[arg-type]


def token_for(username: str, issuer: str, region: Region) -> str:
    """An access token from the development issuer, as `aizu dev token` mints it."""
    settings = IssuerSettings(issuer_url=issuer, key_dir=ISSUER_KEYS, development=True)
    return dev_token(region, username, settings=settings)


class GatewayClient(httpx.AsyncClient):
    app: Litestar
    port: int
    issuer: str
    region: Region

    def token(self, username: str) -> str:
        return token_for(username, self.issuer, self.region)

    def as_user(self, username: str) -> dict[str, str]:
        """Headers that make a request as the demo user ``username``."""
        return {"authorization": f"Bearer {self.token(username)}"}


@asynccontextmanager
async def serving(app: Litestar, port: int | None = None, sock: socket.socket | None = None) -> AsyncIterator[int]:
    """Serve ``app`` with uvicorn on a free loopback port, on the test's own event loop.

    A real server (not an in-process transport) so that clients such as python-keycloak can
    reach it over HTTP, and so that in-process services on the same loop can answer it.

    ``sock``: a socket already bound to ``port``, so that no other connection takes the port between
    choosing it and listening on it.
    """
    port = port or local_servers.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                            timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def gateway_client(
    region: Region, nats_url: str, host: str = "kitakata.localhost", **overrides: object
) -> AsyncIterator[GatewayClient]:
    """The gateway, served for real, and a client whose requests carry ``host`` unless told otherwise."""
    # Bound before the app is built (its issuer URL names the port) and kept until uvicorn listens.
    sock = local_servers.bound_socket()
    port = sock.getsockname()[1]
    settings = gateway_settings(nats_url, port, **overrides)
    app = create_app(region, settings)
    async with serving(app, port, sock):
        async with GatewayClient(base_url=f"http://127.0.0.1:{port}", headers={"host": host}) as client:
            client.app = app
            client.port = port
            client.issuer = settings.oidc_issuer
            client.region = region
            yield client


T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0) -> T:
    """The first truthy answer of ``probe``, polled until ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {probe}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def site(nats_url: str, procedures_db: str, notifications_db: str, portal_db: str, region: Region) -> AsyncIterator[GatewayClient]:
    """The portal's site for 喜多方市: procedures, notifications, portal and the gateway (a module
    may give its own)."""
    async with running_procedures(nats_url, procedures_db), running_notifications(nats_url, notifications_db):
        async with running_portal(nats_url, portal_db, region):
            async with gateway_client(region, nats_url, host="kitakata.localhost") as client:
                yield client


@pytest.fixture
async def stack(nats_url: str, procedures_db: str, region: Region) -> AsyncIterator[GatewayClient]:
    """The gateway in front of one procedures service on the current backend."""
    async with running_procedures(nats_url, procedures_db):
        async with gateway_client(region, nats_url) as client:
            yield client
