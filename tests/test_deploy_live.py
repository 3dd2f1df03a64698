"""deploy/ run for real: NATS with deploy/nats/auth.conf, PostgreSQL set up by deploy/postgres/init.sql.

* A nats-server (the wheel's) loads the shipped ``auth.conf`` unchanged; each process's user is
  tried with subjects it must reach and subjects it must not.
* The embedded PostgreSQL runs the shipped ``init.sql``; ``aizu migrate`` and ``aizu seed`` then run
  as separate processes with only the owner-role URLs, as the migrate job does.
* Every service and the gateway then run as their own NATS users and app roles, and a resident's
  application, its email, a town alert, the portal and the council's figures go through them.
  The server's log must show no permissions violation: a subject the code uses and auth.conf
  forgot fails here, naming the user and subject.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contracts import subjects
from contracts.tenants import Region
from gateway.devissuer.users import subject_for
from services.runner import SERVICES as BUILT
from services.runtime import local_servers, streams
from services.runtime.database import create_engine
from tests.conftest import (
    eventually, gateway_client, mail_sink, running_insights, running_notifications, running_portal, running_procedures, smtp_to,
)
from tests.test_broadcasts import add_residents
from tests.pages import confirmed, csrf_of, hidden
from tests.test_portal_uploads import ANSWERS as DOG_ANSWERS
from tests.test_portal_uploads import PNG

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SERVICES = sorted(BUILT)
USERS = ("gateway", *SERVICES, "ops")
DB_PASSWORDS = {
    **{f"{s.upper()}_{kind}_DB_PASSWORD": f"aizu-{s}-{kind.lower()}" for s in SERVICES for kind in ("OWNER", "APP")},
    "KEYCLOAK_DB_PASSWORD": "aizu-keycloak",
}


def password(user: str) -> str:
    return f"aizu-{user}-{os.getpid()}"


class AuthorisedNats:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log

    def url(self, user: str) -> str:
        return f"nats://{user}:{password(user)}@127.0.0.1:{self.port}"

    def mark(self) -> int:
        return self.log.stat().st_size

    def violations(self, since: int = 0) -> list[str]:
        """The server's log lines about refused publications or subscriptions after ``since``."""
        with self.log.open("rb") as f:
            f.seek(since)
            return [line for line in f.read().decode().splitlines() if "Violation" in line]


@pytest.fixture(scope="module")
def authorised_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthorisedNats]:
    """A nats-server with JetStream and the shipped auth.conf, included as the cluster config does."""
    directory = tmp_path_factory.mktemp("nats-auth")
    shutil.copy(DEPLOY / "nats" / "auth.conf", directory / "auth.conf")
    port = local_servers.free_port()
    (directory / "server.conf").write_text(
        f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{directory / "js"}" }}\n'
        f'log_file: "{directory / "nats.log"}"\ninclude ./auth.conf\n'
    )
    env = local_servers.environment(
        NATS_SYSTEM_PASSWORD=password("sys"), OPS_NATS_PASSWORD=password("ops"),
        **{f"{u.upper()}_NATS_PASSWORD": password(u) for u in USERS if u != "ops"},
    )
    process = subprocess.Popen([local_servers.nats_server_binary(), "-c", str(directory / "server.conf")], env=env)
    try:
        local_servers.wait_for_port(port, process=process)
        yield AuthorisedNats(port, directory / "nats.log")
    finally:
        local_servers.stop(process)


# --- permissions, user by user -----------------------------------------------------------------

ALLOWED: dict[str, list[str]] = {
    "gateway": ["aizu.kitakata.procedures.list", "aizu.kitakata.portal.page", "aizu.audit.kitakata.cross_town",
                "$KV.aizu_sessions.abc", "$O.aizu_uploads.C.abc", "$JS.API.STREAM.NAMES"],
    "procedures": ["aizu.evt.kitakata.application.submitted", "aizu.evt.kitakata.payment.settled",
                   "aizu.audit.kitakata.staff_read", "_INBOX.x",
                   "$JS.API.STREAM.NAMES", "$O.aizu_uploads.C.abc"],
    "notifications": ["aizu.evt.kitakata.broadcast.released", "aizu.evt.kitakata.broadcast.emergency",
                      "aizu.evt.kitakata.delivery.finished",
                      "aizu.dlq.kitakata.notifications.event", "aizu.dlq.kitakata.notifications.delivery",
                      "$JS.API.STREAM.NAMES", "_INBOX.x"],
    "portal": ["aizu.kitakata.procedures.list", "aizu.kitakata.notifications.inbox", "aizu.kitakata.insights.towns",
               "_INBOX.x"],
    "insights": ["$JS.API.STREAM.NAMES", "_INBOX.x"],
}
DENIED: dict[str, list[str]] = {
    # Events and dead letters are written only by the service that owns them.
    "gateway": ["aizu.evt.kitakata.application.submitted", "aizu.evt.kitakata.payment.settled", "aizu.evt.kitakata.x",
                "aizu.dlq.kitakata.x"],
    "procedures": ["aizu.evt.kitakata.broadcast.released", "aizu.evt.kitakata.broadcast.emergency",
                   "aizu.kitakata.notifications.inbox",
                   "aizu.dlq.kitakata.notifications.delivery"],
    "notifications": ["aizu.evt.kitakata.application.submitted", "aizu.dlq.kitakata.procedures.x",
                      "aizu.kitakata.procedures.list"],
    # The portal only asks; 4-token forgeries of events, audit records and dead letters included.
    "portal": ["aizu.evt.kitakata.application.submitted", "aizu.evt.procedures.x", "aizu.audit.procedures.x",
               "aizu.dlq.procedures.x", "aizu.kitakata.gateway.x", "$JS.API.STREAM.NAMES", "$O.aizu_uploads.C.abc"],
    "insights": ["aizu.evt.kitakata.delivery.finished", "aizu.kitakata.procedures.list"],
}


async def violations_of(url: str, publish: list[str] = (), subscribe: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    """The permission errors the server sends back for these publications and subscriptions."""
    errors: list[str] = []

    async def collect(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(url, error_cb=collect, allow_reconnect=False)
    try:
        for subject in subscribe:
            await nc.subscribe(subject)
        for subject in publish:
            await nc.publish(subject, b"{}")
        await nc.flush()
        await asyncio.sleep(0.2)  # the -ERR lines arrive before the PONG; let the callbacks run
    finally:
        await nc.close()
    return errors


@pytest.mark.parametrize("user", sorted(ALLOWED))
async def test_each_user_reaches_its_own_subjects_only(authorised_nats: AuthorisedNats, user: str) -> None:
    url = authorised_nats.url(user)
    assert await violations_of(url, publish=ALLOWED[user]) == []
    for subject in DENIED[user]:
        errors = await violations_of(url, publish=[subject])
        assert len(errors) == 1 and "permissions violation" in errors[0].lower() and subject.lower() in errors[0].lower(), (user, subject, errors)
    # The server logs each one with the user: the platform test below relies on that log.
    assert len([v for v in authorised_nats.violations() if f"user:{user}\"" in v]) >= len(DENIED[user])


async def test_services_cannot_listen_to_another_services_requests(authorised_nats: AuthorisedNats) -> None:
    for user, other in (("procedures", "notifications"), ("notifications", "procedures"), ("portal", "insights"),
                        ("insights", "portal"), ("gateway", "procedures")):
        errors = await violations_of(authorised_nats.url(user), subscribe=[f"aizu.*.{other}.>"])
        assert len(errors) == 1 and "subscription" in errors[0].lower(), (user, errors)
    assert await violations_of(authorised_nats.url("notifications"), subscribe=["aizu.*.notifications.>"]) == []


async def test_a_wrong_password_is_refused(authorised_nats: AuthorisedNats) -> None:
    nc = nats.NATS()
    try:
        with pytest.raises(NatsError):
            await nc.connect(f"nats://portal:wrong@127.0.0.1:{authorised_nats.port}", allow_reconnect=False,
                             max_reconnect_attempts=0, connect_timeout=2)
    finally:
        await nc.close()  # a refused connect leaves its socket open (allow_reconnect=False)


async def test_notifications_files_dead_letters_in_their_stream(authorised_nats: AuthorisedNats) -> None:
    nc = await nats.connect(authorised_nats.url("notifications"))
    try:
        js = nc.jetstream()
        await streams.ensure(js, streams.DEAD_LETTERS, replicas=1)
        ack = await js.publish(subjects.dead_letter("kitakata", subjects.NOTIFICATIONS, "delivery"), b"{}")
        assert ack.stream == streams.DEAD_LETTERS.name
    finally:
        await nc.close()


# --- PostgreSQL as init.sql makes it ------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed_databases(postgres: local_servers.EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """init.sql as the superuser, then `aizu migrate` and `aizu seed` as separate processes with
    only the owner URLs. Returns each service's app-role URL."""
    saved = {k: os.environ.get(k) for k in DB_PASSWORDS}
    os.environ.update(DB_PASSWORDS)  # psql's \getenv reads them, as in the postgres container
    try:
        postgres.psql((DEPLOY / "postgres" / "init.sql").read_text())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    var = tmp_path_factory.mktemp("aizu-var")
    env = local_servers.environment(
        AIZU_VAR_DIR=str(var), **{f"AIZU_{s.upper()}_MIGRATION_DATABASE_URL": postgres.url(s, user=f"{s}_owner") for s in SERVICES},
    )
    for command in ("migrate", "seed"):
        done = subprocess.run([sys.executable, "-m", "services.cli", command], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        if command == "migrate":
            assert sorted(done.stdout.split()[1::2]) == SERVICES, done.stdout
    assert list(var.iterdir()) == [], "something was written to a SQLite file instead of PostgreSQL"
    return {s: postgres.url(s, user=f"{s}_app") for s in SERVICES}


async def test_app_roles_use_only_their_own_database_and_change_no_schema(deployed_databases: dict[str, str], postgres) -> None:
    engine = create_engine(postgres.url("portal", user="notifications_app"))
    try:
        with pytest.raises(DBAPIError, match="permission denied for database"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    engine = create_engine(deployed_databases["notifications"])
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError, match="permission denied for schema public"):
                await conn.execute(text("CREATE TABLE intruder (id int)"))
            await conn.rollback()
            flags = (await conn.execute(text("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user"))).one()
            assert tuple(flags) == (False, False)
    finally:
        await engine.dispose()


def test_init_sql_stops_naming_a_missing_password(postgres: local_servers.EmbeddedPostgres, deployed_databases) -> None:
    """Runs after the real initialisation (the check comes before any CREATE, so nothing changes)."""
    env = {k: v for k, v in DB_PASSWORDS.items() if k != "PORTAL_APP_DB_PASSWORD"}
    saved = {k: os.environ.pop(k, None) for k in DB_PASSWORDS}
    os.environ.update(env)
    try:
        with pytest.raises(subprocess.CalledProcessError) as failed:
            postgres.psql((DEPLOY / "postgres" / "init.sql").read_text())
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None)
            if v is not None:
                os.environ[k] = v
    assert "PORTAL_APP_DB_PASSWORD" in failed.value.output.decode()


# --- everything together, each process as itself ------------------------------------------------


async def test_the_platform_runs_with_the_shipped_permissions_and_roles(
    authorised_nats: AuthorisedNats, deployed_databases: dict[str, str], region: Region, tmp_path: Path,
) -> None:
    start = authorised_nats.mark()  # the other tests' deliberate violations are before it
    try:
        await _use_the_platform(authorised_nats, deployed_databases, region, tmp_path)
    except AssertionError as exc:
        # A subject auth.conf forgot usually shows as a time-out; the server's log says which.
        raise AssertionError(f"{exc}\nNATS refused: {authorised_nats.violations(start)}") from exc
    assert authorised_nats.violations(start) == []


async def _use_the_platform(authorised_nats: AuthorisedNats, dbs: dict[str, str], region: Region, tmp_path: Path) -> None:
    url = authorised_nats.url
    async with AsyncExitStack() as stack:
        sink = await stack.enter_async_context(mail_sink(tmp_path / "mail"))
        await stack.enter_async_context(running_procedures(url("procedures"), dbs["procedures"]))
        await stack.enter_async_context(running_notifications(url("notifications"), dbs["notifications"], smtp_to(sink)))
        await stack.enter_async_context(running_portal(url("portal"), dbs["portal"]))
        insights = await stack.enter_async_context(running_insights(url("insights"), dbs["insights"]))
        client = await stack.enter_async_context(gateway_client(region, url("gateway"), host="kitakata.localhost"))

        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text

        # A resident applies and hears about it by email: procedures → AIZU_EVENTS → notifications
        # → SMTP, then delivery.finished → insights.
        me = client.as_user("kitakata.resident")
        address = f"resident-{uuid.uuid4().hex[:8]}@kitakata.example"
        saved = await client.put("/api/v1/preferences", json={"channels": ["email"], "email": address}, headers=me)
        assert saved.status_code == 200, saved.text
        submitted = await client.post("/api/v1/applications", json={"code": "juminhyo-copy"},
                                      headers={**me, "idempotency-key": str(uuid.uuid4())})
        assert submitted.status_code == 201, submitted.text
        app_id = submitted.json()["application"]["id"]
        moved = await client.post(f"/api/v1/applications/{app_id}/transitions", json={"to": "in_review", "comment": "確認します"},
                                  headers=client.as_user("kitakata.caseworker"))
        assert moved.status_code == 200, moved.text

        async def two_messages() -> bool:
            inbox = (await client.get("/api/v1/inbox", headers=me)).json()["items"]
            return len([m for m in inbox if m["application_id"] == app_id]) == 2

        await eventually(two_messages)
        await eventually(lambda: asyncio.sleep(0, [p for p in sink.messages() if address.encode() in p.read_bytes()][1:]))
        ops = await nats.connect(url("ops"))
        try:
            finished = await eventually(lambda: _last(ops, subjects.event("kitakata", "delivery", "finished")))
            assert finished.subject == "aizu.evt.kitakata.delivery.finished"
        finally:
            await ops.close()
        await insights.app.components.deliveries.caught_up(timeout=20)

        # A town alert: two admins, then the alerts' fan-out consumer (broadcast.emergency).
        await add_residents(dbs["notifications"], "kitakata", 1, subjects=[subject_for(client.issuer, "kitakata.resident")])
        title = f"【避難指示】配備の確認 {uuid.uuid4().hex[:6]}"
        alert = {"kind": "emergency", "title_ja": title, "body_ja": "直ちに避難してください。",
                 "title_en": "Evacuation order (deployment check)", "body_en": "Evacuate now."}
        made = await client.post("/api/v1/broadcasts", json=alert, headers=client.as_user("kitakata.admin"))
        assert made.status_code == 201, made.text
        approved = await client.post(f"/api/v1/broadcasts/{made.json()['id']}/approve", headers=client.as_user("kitakata.admin2"))
        assert approved.status_code == 200, approved.text

        async def alerted() -> bool:
            inbox = (await client.get("/api/v1/inbox", headers=me)).json()["items"]
            return any(m["title_ja"] == title for m in inbox)

        await eventually(alerted)

        # The portal asks procedures on the resident's behalf; the council reads the figures.
        page = await client.get("/procedures")
        assert page.status_code == 200 and region.standard("juminhyo-copy").name_ja in page.text
        # A phone photo attached in the portal (3 MB: many chunks, flow control): the gateway writes it
        # to the uploads bucket, procedures reads it back, then hands it to the caseworker the same way.
        photo = PNG + os.urandom(3_000_000)
        form = await client.get("/procedures/dog-registration", headers=me)
        fields = {"_csrf_token": csrf_of(form.text), "idempotency_key": hidden(form.text, "idempotency_key"), **DOG_ANSWERS}
        client.cookies.update(form.cookies)
        check = await client.post("/procedures/dog-registration", data=fields, headers=me,
                                  files={"vaccination_certificate": ("証明書.png", photo, "image/png")})
        assert check.status_code == 200, check.text[:500]
        filed = await client.post("/procedures/dog-registration", data=confirmed(check.text), headers=me)
        assert filed.status_code == 303, filed.text[:500]
        dog_id = filed.headers["location"].split("/")[2].split("?")[0]
        opened = await client.get(f"/api/v1/applications/{dog_id}/attachments/vaccination_certificate",
                                  headers=client.as_user("kitakata.caseworker"))
        assert opened.status_code == 200 and opened.content == photo, opened.text[:300]
        figures = await client.get("/api/v1/metrics/towns", headers={**client.as_user("council.member"), "host": "council.localhost"})
        assert figures.status_code == 200, figures.text


async def _last(nc, subject: str):  # type: ignore[no-untyped-def]
    try:
        return await nc.jetstream().get_last_msg(streams.EVENTS.name, subject)
    except nats.js.errors.NotFoundError:
        return None
