"""Row-level security on PostgreSQL: a query that forgets its tenant filter still sees one town.

The database is set up as in production: owned, migrated and seeded by a role that is no
superuser (``procedures_owner_test``, bound by the policies too since the tables FORCE them), with
the app's privileges granted to ``procedures_app_test`` (NOSUPERUSER, NOBYPASSRLS, like
``procedures_app``). Only the superuser, which skips every policy, plants and counts all rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import msgspec
import nats
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import applications as apps
from contracts import headers as h
from contracts import procedures as procs
from contracts import receipts, subjects
from contracts.principal import Identity, Principal, encode
from contracts.tenants import Region
from services.procedures import app as procedures_app
from services.procedures.models import Application, OfferedProcedure
from services.procedures.seed import seed_catalog
from services.runtime import local_servers, rls
from services.runtime.database import create_engine, create_reader, migrate, session_factory
from tests.conftest import running_procedures

ROLE = "procedures_app_test"
OWNER = "procedures_owner_test"
#: Applications written straight into the database, per town, before any test runs.
PLANTED = {"kitakata": 2, "bandai": 3, "aizuwakamatsu": 1}


def _application(tenant: str) -> Application:
    now = datetime.now(UTC)
    return Application(
        id=str(uuid.uuid4()), tenant=tenant, code="juminhyo-copy", channel="online", status="received",
        applicant_subject=f"{tenant}-someone", applicant_name="会津 花子", answers_json=b"{}",
        submitted_at=now, updated_at=now,
    )


def _role(postgres: local_servers.EmbeddedPostgres, name: str) -> None:
    postgres.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$;"
    )


@pytest.fixture(scope="module")
async def rls_urls(postgres: local_servers.EmbeddedPostgres, region: Region) -> dict[str, str]:
    """A procedures database of its own, owned, migrated and seeded as in production by a role
    that is no superuser; ``app`` is the service's role and ``superuser`` sees every row."""
    name = f"procedures_rls_{os.getpid()}"
    _role(postgres, OWNER)
    _role(postgres, ROLE)
    postgres.psql(f"DROP DATABASE IF EXISTS {name};")
    postgres.psql(f"CREATE DATABASE {name} OWNER {OWNER};")
    owner = postgres.url(name, user=OWNER)
    await asyncio.to_thread(migrate, procedures_app.MIGRATIONS, owner, "head", ROLE)
    engine = create_engine(owner)
    async with session_factory(engine)() as session:
        await seed_catalog(session, region)
    await engine.dispose()
    engine = create_engine(postgres.url(name))
    async with session_factory(engine)() as session, session.begin():
        session.add_all(_application(town) for town, n in PLANTED.items() for _ in range(n))
    await engine.dispose()
    return {"owner": owner, "app": postgres.url(name, user=ROLE), "superuser": postgres.url(name)}


@pytest.fixture
async def app_engine(rls_urls: dict[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(rls_urls["app"])
    yield engine
    await engine.dispose()


async def _count(url: str, tenant: str | None = None) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as c:
            query = select(func.count()).select_from(Application)
            if tenant is not None:
                query = query.where(Application.tenant == tenant)
            return (await c.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_the_app_role_is_bound_by_the_policies(app_engine):
    async with app_engine.connect() as c:
        row = (await c.execute(text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"))).one()
        forced = (await c.execute(text(
            "SELECT count(*) FROM pg_class WHERE relname = ANY(:t) AND relrowsecurity AND relforcerowsecurity"
        ), {"t": ["offered_procedures", "applications", "status_changes", "chain_heads", "attachments",
                  "idempotency_keys", "outbox", "signing_keys"]})).scalar_one()
    assert tuple(row) == (False, False)
    assert forced == 8


async def test_a_query_that_forgot_its_tenant_filter_sees_only_the_request_town(app_engine, rls_urls):
    kitakata = await _count(rls_urls["superuser"], "kitakata")
    assert kitakata >= PLANTED["kitakata"] and await _count(rls_urls["superuser"]) > kitakata
    async with app_engine.begin() as c:
        await c.execute(text("SELECT set_config('aizu.tenant', 'kitakata', true)"))
        assert (await c.execute(text("SELECT count(*) FROM applications"))).scalar_one() == kitakata
        assert set((await c.execute(text("SELECT DISTINCT tenant FROM applications"))).scalars()) == {"kitakata"}
    # The same through the runtime's sessions, in a transaction and on the autocommit read path.
    reader = app_engine.execution_options(isolation_level="AUTOCOMMIT")
    for engine in (app_engine, reader):
        async with rls.sessionmaker(engine)(info={rls.TENANT: "kitakata"}) as session:
            assert set((await session.execute(select(Application.tenant))).scalars()) == {"kitakata"}
            assert (await session.execute(select(func.count()).select_from(Application))).scalar_one() == kitakata
    # The autocommit connection remembered kitakata; another town's session must not inherit it.
    async with rls.sessionmaker(reader)(info={rls.TENANT: "bandai"}) as session:
        assert set((await session.execute(select(Application.tenant))).scalars()) == {"bandai"}


async def test_behind_a_transaction_pooler_reads_set_their_tenant_in_a_transaction(app_engine):
    assert create_reader(app_engine, transaction_pooling=False).get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    reader = create_reader(app_engine, transaction_pooling=True)  # AIZU_DATABASE_TRANSACTION_POOLING=1
    assert reader.get_execution_options().get("isolation_level") is None
    async with rls.sessionmaker(reader)(info={rls.TENANT: "bandai"}) as session:
        assert set((await session.execute(select(Application.tenant))).scalars()) == {"bandai"}
        local = await session.execute(text("SELECT current_setting('aizu.tenant')"))
        assert local.scalar_one() == "bandai"
    async with app_engine.connect() as c:  # nothing stayed on the connection after the read
        assert (await c.execute(text("SELECT current_setting('aizu.tenant', true)"))).scalar_one() in (None, "")


async def test_with_no_tenant_set_nothing_is_visible(app_engine):
    async with app_engine.connect() as c:
        assert (await c.execute(text("SELECT count(*) FROM applications"))).scalar_one() == 0
        assert (await c.execute(text("SELECT count(*) FROM offered_procedures"))).scalar_one() == 0
    reader = app_engine.execution_options(isolation_level="AUTOCOMMIT")
    async with rls.sessionmaker(reader)(info={rls.TENANT: "kitakata"}) as session:
        assert (await session.execute(select(func.count()).select_from(OfferedProcedure))).scalar_one() > 0
    # A session that names no town, even on a connection that last served kitakata, sees nothing.
    async with rls.sessionmaker(reader)() as session:
        assert (await session.execute(select(func.count()).select_from(OfferedProcedure))).scalar_one() == 0


async def test_writing_a_row_for_another_town_is_refused(app_engine):
    other = _application("bandai")
    async with app_engine.connect() as c:
        await c.execute(text("SELECT set_config('aizu.tenant', 'kitakata', false)"))
        await c.commit()
        with pytest.raises(DBAPIError, match="row-level security"):
            async with c.begin():
                await c.execute(Application.__table__.insert().values(
                    id=other.id, tenant="bandai", code=other.code, channel=other.channel, status=other.status,
                    applicant_name=other.applicant_name, answers_json=b"{}",
                    submitted_at=other.submitted_at, updated_at=other.updated_at))
        with pytest.raises(DBAPIError, match="row-level security"):
            async with c.begin():  # moving one of kitakata's rows to another town
                await c.execute(text("UPDATE applications SET tenant = 'bandai' WHERE tenant = 'kitakata'"))
        async with c.begin():  # another town's rows are not there to change or delete
            closed = await c.execute(text("UPDATE applications SET status = 'closed' WHERE tenant = 'bandai'"))
            deleted = await c.execute(text("DELETE FROM applications WHERE tenant <> 'kitakata'"))
            assert closed.rowcount == 0 and deleted.rowcount == 0


async def test_the_owner_is_bound_too_and_seeding_wrote_every_town(rls_urls, region):
    superuser = create_engine(rls_urls["superuser"])
    try:
        async with superuser.connect() as c:
            for table in ("offered_procedures", "chain_heads", "signing_keys"):
                towns = set((await c.execute(text(f"SELECT DISTINCT tenant FROM {table}"))).scalars())
                assert towns == {t.slug for t in region.towns}, table
    finally:
        await superuser.dispose()
    owner = create_engine(rls_urls["owner"])
    try:
        async with owner.begin() as c:
            assert (await c.execute(text("SELECT count(*) FROM applications"))).scalar_one() == 0
            await c.execute(text("SELECT set_config('aizu.tenant', 'bandai', true)"))
            assert set((await c.execute(text("SELECT tenant FROM applications"))).scalars()) == {"bandai"}
    finally:
        await owner.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE applications DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE applications NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON applications",
        "CREATE POLICY see_all ON applications USING (true)",
        "SET ROLE postgres",
    ],
)
async def test_the_app_role_cannot_turn_the_policies_off(app_engine, statement):
    async with app_engine.connect() as c:
        with pytest.raises(DBAPIError, match="must be owner|permission denied"):
            await c.execute(text(statement))


async def test_row_security_off_is_an_error_not_a_way_around(app_engine):
    async with app_engine.connect() as c:
        await c.execute(text("SET row_security = off"))
        with pytest.raises(DBAPIError, match="row-level security"):
            await c.execute(text("SELECT count(*) FROM applications"))


async def _marked_published(superuser_url: str, application_ids: list[str], timeout: float = 5.0) -> bool:
    """The relay marks rows published after JetStream acknowledged them; wait for that commit."""
    engine = create_engine(superuser_url)
    query = text(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL AND subject LIKE '%.application.submitted'"
        " AND convert_from(payload, 'UTF8')::jsonb ->> 'application_id' = ANY(:ids)"
    )
    try:
        for _ in range(int(timeout / 0.05)):
            async with engine.connect() as c:
                if (await c.execute(query, {"ids": application_ids})).scalar_one() == 0:
                    return True
            await asyncio.sleep(0.05)
        return False
    finally:
        await engine.dispose()


def _resident(tenant: str) -> dict[str, str]:
    principal = Principal(
        subject=f"{tenant}-rls-{uuid.uuid4().hex[:8]}", roles=("resident",), tenant=tenant, acr="jpki",
        identity=Identity(name="会津 太郎", address=f"福島県{tenant}1-1", birthdate="1980-04-01"),
    )
    return {h.PRINCIPAL: encode(principal), h.IDEMPOTENCY_KEY: str(uuid.uuid4())}


async def test_the_service_as_the_app_role_serves_accepts_and_publishes(nats_url, rls_urls):
    nc = await nats.connect(nats_url)
    events: asyncio.Queue[dict] = asyncio.Queue()

    async def on_event(msg) -> None:
        await events.put(msgspec.json.decode(msg.data))

    sub = await nc.subscribe(subjects.event("*", "application", "submitted"), cb=on_event)
    try:
        async with running_procedures(nats_url, rls_urls["app"]):
            listing = msgspec.json.decode(
                (await nc.request(subjects.request("kitakata", "procedures", procs.LIST), b"{}", timeout=5)).data
            )
            assert listing["tenant"] == "kitakata" and "juminhyo-copy" in {i["code"] for i in listing["items"]}
            submitted = {}
            for town in ("kitakata", "bandai"):
                reply = await nc.request(
                    subjects.request(town, "procedures", apps.SUBMIT),
                    msgspec.json.encode(apps.SubmitApplication(code="juminhyo-copy")),
                    timeout=5,
                    headers=_resident(town),
                )
                assert not (reply.headers or {}).get(h.SERVICE_ERROR_CODE), reply.data
                submitted[town] = msgspec.json.decode(reply.data)
            ids = {town: s["application"]["id"] for town, s in submitted.items()}
            seen: dict[str, str] = {}
            while set(ids.values()) - set(seen):
                event = await asyncio.wait_for(events.get(), 5)
                seen[event["application_id"]] = event["tenant"]
            assert all(seen[i] == town for town, i in ids.items())
            assert await _marked_published(rls_urls["superuser"], list(ids.values()))
            # Any town's host verifies any town's receipt, though each key is readable by its town only.
            check = msgspec.json.decode((await nc.request(
                subjects.request("bandai", "procedures", receipts.VERIFY),
                msgspec.json.encode({"token": submitted["kitakata"]["receipt"]}), timeout=5)).data)
            assert check["valid"] is True and check["tenant"] == "kitakata"
    finally:
        await sub.unsubscribe()
        await nc.drain()
