"""Notifications end to end: procedures → JetStream → notifications → inbox and SMTP, on both backends.

Real servers throughout: nats-server, PostgreSQL (as a NOBYPASSRLS app role) or SQLite, the
gateway served by uvicorn, and the SMTP sink (aiosmtpd) on a loopback port as the town's relay.
"""

from __future__ import annotations

import asyncio
import email
import uuid
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default as email_policy
from typing import Any

import msgspec
import nats
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from contracts import headers as h
from contracts import notifications as notes
from contracts import subjects
from contracts.applications import ApplicationStatusChanged, ApplicationSubmitted
from contracts.principal import Principal, encode
from services.notifications.channels.mailer import SmtpSettings
from services.notifications.channels.smtp_sink import MailSink
from services.runtime import local_servers
from services.runtime.database import create_engine
from tests.conftest import (
    eventually,
    gateway_client,
    mail_sink,
    running_notifications,
    running_procedures,
    same_backend,
    smtp_to,
)

APPS = "/api/v1/applications"
RLS_TABLES = ("inbox_messages", "preferences", "templates", "deliveries", "processed_events", "push_subscriptions", "webhooks", "outbox")


def mails_to(sink: MailSink, address: str) -> list[EmailMessage]:
    found = []
    for path in sink.messages():
        parsed = email.message_from_bytes(path.read_bytes(), policy=email_policy)
        if parsed["To"] == address:
            found.append(parsed)
    return found


def host(town: str) -> dict[str, str]:
    return {"host": f"{town}.localhost"}


async def subject_of(client, user: str) -> str:
    return (await client.get("/api/v1/me", headers=client.as_user(user))).json()["subject"]


async def inbox(client, user: str, town: str, **params: Any) -> dict:
    response = await client.get("/api/v1/inbox", params=params, headers={**client.as_user(user), **host(town)})
    assert response.status_code == 200, response.text
    return response.json()


def about(listing: dict, application_id: str) -> list[dict]:
    return [m for m in listing["items"] if m["application_id"] == application_id]


# The bus, as another service or an operator's tool would use it.


async def publish(nats_url: str, event: ApplicationSubmitted | ApplicationStatusChanged, msg_id: str | None = None) -> bool:
    """Publish to JetStream as the procedures' outbox relay does; returns whether it was a duplicate."""
    nc = await nats.connect(nats_url)
    try:
        name = "status_changed" if isinstance(event, ApplicationStatusChanged) else "submitted"
        ack = await nc.jetstream().publish(
            subjects.event(event.tenant, "application", name), msgspec.json.encode(event),
            headers={"Nats-Msg-Id": msg_id or event.event_id},
        )
        return ack.duplicate is True
    finally:
        await nc.close()


def status_changed(tenant: str, applicant: str | None, to: str = "approved", **extra: Any) -> ApplicationStatusChanged:
    now = datetime.now(UTC)
    values: dict[str, Any] = dict(
        event_id=str(uuid.uuid4()), tenant=tenant, application_id=str(uuid.uuid4()), code="juminhyo-copy",
        channel="online", applicant_subject=applicant, from_status="in_review", to_status=to, at=now,
        submitted_at=now, due_on=date(2026, 12, 1),
    )
    values.update(extra)
    return ApplicationStatusChanged(**values)


async def bus(nats_url: str, tenant: str, verb: str, message: msgspec.Struct, principal: Principal) -> Any:
    nc = await nats.connect(nats_url)
    try:
        reply = await nc.request(
            subjects.request(tenant, subjects.NOTIFICATIONS, verb), msgspec.json.encode(message), timeout=5,
            headers={h.PRINCIPAL: encode(principal)},
        )
    finally:
        await nc.close()
    assert not (reply.headers or {}).get(h.SERVICE_ERROR_CODE), reply.data
    return msgspec.json.decode(reply.data)


def resident(tenant: str) -> Principal:
    return Principal(subject=f"{tenant}-{uuid.uuid4().hex[:10]}", roles=("resident",), tenant=tenant, acr="jpki")


def caseworker(tenant: str) -> Principal:
    return Principal(subject=f"{tenant}.caseworker", roles=("caseworker",), tenant=tenant)


async def deliveries_of(nats_url: str, tenant: str, message_id: str) -> list[dict]:
    listing = await bus(nats_url, tenant, notes.DELIVERIES, notes.ListDeliveries(message_id=message_id), caseworker(tenant))
    return listing["items"]


async def inbox_of(nats_url: str, tenant: str, who: Principal) -> list[dict]:
    return (await bus(nats_url, tenant, notes.INBOX, notes.ListInbox(), who))["items"]


@pytest.fixture
async def stack(region, nats_url, procedures_db, notifications_db, tmp_path):
    """Gateway, procedures and notifications on the current backend; mail goes to the sink."""
    async with (
        mail_sink(tmp_path / "mail") as sink,
        running_procedures(nats_url, procedures_db),
        running_notifications(nats_url, notifications_db, smtp_to(sink)) as notifications,
        gateway_client(region, nats_url) as client,
    ):
        client.sink = sink
        client.nats_url = nats_url
        client.events = notifications.app.components.events
        yield client


@same_backend
async def test_a_status_change_reaches_the_inbox_and_the_smtp_sink(stack, region):
    town, user = "inawashiro", "inawashiro.resident"
    address = f"resident-{uuid.uuid4().hex[:8]}@inawashiro.example"
    me = {**stack.as_user(user), **host(town)}
    saved = await stack.put("/api/v1/preferences", json={"channels": ["email"], "email": address}, headers=me)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"channels": ["inbox", "email"], "email": address}

    submitted = await stack.post(APPS, json={"code": "juminhyo-copy"}, headers={**me, "idempotency-key": str(uuid.uuid4())})
    assert submitted.status_code == 201, submitted.text
    app_id = submitted.json()["application"]["id"]
    reference = submitted.json()["application"]["reference"]  # what mail names it by (受付番号)
    moved = await stack.post(f"{APPS}/{app_id}/transitions", json={"to": "in_review", "comment": "確認します"},
                             headers={**stack.as_user("inawashiro.caseworker"), **host(town)})
    assert moved.status_code == 200, moved.text

    async def both_messages() -> list[dict] | None:
        mine = about(await inbox(stack, user, town), app_id)
        return mine if len(mine) == 2 else None

    newest, first = await eventually(both_messages)
    assert (newest["kind"], first["kind"]) == ("application.status_changed", "application.submitted")
    procedure = region.standard("juminhyo-copy")
    assert newest["title_ja"] == f"【猪苗代町】{procedure.name_ja}の申請状況: 審査中"
    assert "「受付」から「審査中」" in newest["body_ja"] and reference in newest["body_ja"]
    assert newest["title_en"] == f"[Inawashiro Town] Your application for {procedure.name_en}: in review"
    assert newest["read_at"] is None

    mails = await eventually(lambda: asyncio.sleep(0, [m for m in mails_to(stack.sink, address)
                                                        if "審査中" in m["Subject"]]))
    assert len(mails) == 1
    mail = mails[0]
    assert mail["To"] == address
    assert mail["Subject"] == newest["title_ja"]
    assert "猪苗代町" in mail["From"] and mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_content()
    assert text.index(newest["body_ja"]) < text.index(newest["body_en"])  # Japanese first, English second
    assert reference in text and app_id not in text
    # The delivery is tracked; the submission's message went by email too.
    tracked = await eventually(lambda: _delivered(stack.nats_url, town, newest["id"]))
    assert [(d["status"], d["attempts"], d["address"]) for d in tracked] == [("delivered", 1, address)]
    assert len(mails_to(stack.sink, address)) == 2


@same_backend
async def test_the_same_event_delivered_twice_makes_one_message(stack, nats_url):
    town = "mishima"
    who = resident(town)
    address = f"{who.subject}@mishima.example"
    await bus(nats_url, town, notes.SET_PREFERENCES, notes.Preferences(channels=["email"], email=address), who)
    duplicates_before = stack.events.duplicates
    event = status_changed(town, who.subject)

    # The same payload under the same Nats-Msg-Id: JetStream keeps one.
    assert await publish(nats_url, event) is False
    assert await publish(nats_url, event) is True
    # A copy under another Nats-Msg-Id (e.g. published again after the duplicate window): the
    # stream keeps both, and the consumer must recognise the event by its event_id.
    assert await publish(nats_url, event, msg_id=str(uuid.uuid4())) is False
    await stack.events.caught_up()

    messages = [m for m in await inbox_of(nats_url, town, who) if m["application_id"] == event.application_id]
    assert len(messages) == 1
    assert stack.events.duplicates == duplicates_before + 1
    tracked = await eventually(lambda: _delivered(nats_url, town, messages[0]["id"]))
    assert len(tracked) == 1
    await asyncio.sleep(0.3)  # give a (wrong) second mail the time to arrive
    assert len(mails_to(stack.sink, address)) == 1


async def _delivered(nats_url: str, town: str, message_id: str) -> list[dict] | None:
    items = await deliveries_of(nats_url, town, message_id)
    return items if items and all(d["status"] == "delivered" for d in items) else None


@same_backend
async def test_events_without_an_applicant_or_from_another_town_make_no_message(stack, nats_url):
    counter = ApplicationSubmitted(
        event_id=str(uuid.uuid4()), tenant="mishima", application_id=str(uuid.uuid4()), code="juminhyo-copy",
        channel="counter", applicant_subject=None, at=datetime.now(UTC),
    )
    who = resident("bandai")
    # An event on kitakata's subject that claims to be bandai's is not believed.
    forged = status_changed("bandai", who.subject)
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(subjects.event("kitakata", "application", "status_changed"), msgspec.json.encode(forged))
    finally:
        await nc.close()
    handled = stack.events.handled
    await publish(nats_url, counter)
    await stack.events.caught_up()
    assert stack.events.handled == handled + 1
    assert await inbox_of(nats_url, "bandai", who) == []
    assert await inbox_of(nats_url, "kitakata", Principal(subject=who.subject, roles=("resident",))) == []


TEMPLATE = {
    "title_ja": "【{town_name}】{procedure_name}: {status}",
    "body_ja": "{procedure_name}（受付番号 {application_id}）は「{status}」になりました。",
    "title_en": "[{town_name}] {procedure_name}: {status}",
    "body_en": "Your {procedure_name} ({application_id}) is now {status}.",
}
STATUS_CHANGED = "/api/v1/templates/application.status_changed"


@same_backend
async def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(stack):
    admin = {**stack.as_user("bandai.admin"), **host("bandai")}
    unknown = await stack.put(STATUS_CHANGED, json={**TEMPLATE, "body_ja": "{status} {applicant_secret}{procedure_name}"},
                              headers=admin)
    assert unknown.status_code == 422, unknown.text
    problem = unknown.json()
    assert problem["code"] == "validation" and "{applicant_secret}" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["$.body_ja"]
    assert "applicant_secret" in problem["errors"][0]["message_en"] and problem["errors"][0]["message_ja"]

    missing = await stack.put(STATUS_CHANGED, json={**TEMPLATE, "body_en": "Your {procedure_name} changed."}, headers=admin)
    assert missing.status_code == 422
    assert "missing placeholder {status}" in missing.json()["detail"]
    assert [e["field"] for e in missing.json()["errors"]] == ["$.body_en"]

    for body, named in (("{status!r} {procedure_name}", "{status}"), ("{status.__class__} {procedure_name}", "status.__class__"),
                        ("{status} {procedure_name} {", "body_ja")):
        refused = await stack.put(STATUS_CHANGED, json={**TEMPLATE, "body_ja": body}, headers=admin)
        assert refused.status_code == 422 and named in refused.json()["detail"], (body, refused.text)

    kind = await stack.put("/api/v1/templates/application.teleported", json=TEMPLATE, headers=admin)
    assert kind.status_code == 422 and kind.json()["errors"][0]["field"] == "$.kind"
    empty = await stack.put(STATUS_CHANGED, json={**TEMPLATE, "title_ja": ""}, headers=admin)
    assert empty.status_code == 400 and "title_ja" in empty.text
    # Nothing refused was saved.
    listing = (await stack.get("/api/v1/templates", headers=admin)).json()["items"]
    assert {t["kind"]: t["source"] for t in listing}["application.status_changed"] in ("default", "town")
    assert all("applicant_secret" not in t["body_ja"] for t in listing)


@same_backend
async def test_templates_belong_to_the_towns_tenant_admins(stack):
    for user, town in (("kitakata.admin", "bandai"), ("bandai.caseworker", "bandai"), ("bandai.resident", "bandai")):
        refused = await stack.put(STATUS_CHANGED, json=TEMPLATE, headers={**stack.as_user(user), **host(town)})
        assert refused.status_code == 403, (user, refused.text)
    assert (await stack.get("/api/v1/templates", headers={**stack.as_user("bandai.resident"), **host("bandai")})).status_code == 403
    assert (await stack.get("/api/v1/templates", headers={**stack.as_user("kitakata.admin"), **host("bandai")})).status_code == 403
    assert (await stack.put(STATUS_CHANGED, json=TEMPLATE, headers=host("bandai"))).status_code == 401
    readable = await stack.get("/api/v1/templates", headers={**stack.as_user("bandai.caseworker"), **host("bandai")})
    assert readable.status_code == 200 and len(readable.json()["items"]) == 2


@same_backend
async def test_a_towns_own_template_renders_its_messages(stack, nats_url, region):
    admin = {**stack.as_user("bandai.admin"), **host("bandai")}
    saved = await stack.put(STATUS_CHANGED, json=TEMPLATE, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["source"] == "town" and saved.json()["required"] == ["procedure_name", "status"]
    mine = {t["kind"]: t for t in (await stack.get("/api/v1/templates", headers=admin)).json()["items"]}
    assert mine["application.status_changed"]["body_en"] == TEMPLATE["body_en"]
    assert mine["application.submitted"]["source"] == "default"
    # Another town still has the regional default.
    theirs = (await stack.get("/api/v1/templates", headers={**stack.as_user("kitakata.admin"), **host("kitakata")})).json()
    assert all(t["source"] == "default" for t in theirs["items"])

    who = resident("bandai")
    event = status_changed("bandai", who.subject, to="issued")
    await publish(nats_url, event)
    await stack.events.caught_up()
    [message] = await inbox_of(nats_url, "bandai", who)
    name = region.standard("juminhyo-copy").name_ja
    assert message["title_ja"] == f"【磐梯町】{name}: 交付済み"
    assert message["body_ja"] == f"{name}（受付番号 {event.application_id}）は「交付済み」になりました。"
    assert message["body_en"].endswith("is now issued.")


async def test_a_message_names_the_application_by_the_reference_people_read(stack, nats_url):
    who = resident("showa")
    event = status_changed("showa", who.subject, to="approved", reference="SHW-2026-000042-5")
    await publish(nats_url, event)
    await stack.events.caught_up()
    [message] = await inbox_of(nats_url, "showa", who)
    assert "受付番号: SHW-2026-000042-5" in message["body_ja"] and event.application_id not in message["body_ja"]
    assert "SHW-2026-000042-5" in message["body_en"]


@same_backend
async def test_the_inbox_is_the_residents_own(stack, nats_url):
    user, other = "kitakata.resident", "kitakata.resident-basic"
    event = status_changed("kitakata", await subject_of(stack, user), to="needs_info")
    await publish(nats_url, event)
    await stack.events.caught_up()
    listing = await inbox(stack, user, "kitakata")
    [message] = about(listing, event.application_id)
    assert message["title_ja"].endswith("追加情報の依頼")
    unread = listing["unread"]
    assert unread >= 1

    # Another resident of the same town neither sees it nor can mark it.
    assert about(await inbox(stack, other, "kitakata"), event.application_id) == []
    read = f"/api/v1/inbox/{message['id']}/read"
    assert (await stack.post(read, headers={**stack.as_user(other), **host("kitakata")})).status_code == 404
    # The same resident at another town's portal has that town's inbox, not this one.
    assert about(await inbox(stack, user, "bandai"), event.application_id) == []
    assert (await stack.post(read, headers={**stack.as_user(user), **host("bandai")})).status_code == 404
    # Staff have no inbox route; nobody anonymous.
    assert (await stack.get("/api/v1/inbox", headers={**stack.as_user("kitakata.caseworker"), **host("kitakata")})).status_code == 403
    assert (await stack.get("/api/v1/inbox", headers=host("kitakata"))).status_code == 401

    marked = await stack.post(read, headers={**stack.as_user(user), **host("kitakata")})
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    again = await stack.post(read, headers={**stack.as_user(user), **host("kitakata")})
    assert again.json()["read_at"] == marked.json()["read_at"]  # the first reading is kept
    after = await inbox(stack, user, "kitakata", unread_only="true")
    assert after["unread"] == unread - 1 and about(after, event.application_id) == []


@same_backend
async def test_bad_input_is_refused_naming_the_field(stack):
    me = {**stack.as_user("kitakata.resident"), **host("kitakata")}
    limit = await stack.get("/api/v1/inbox", params={"limit": 0}, headers=me)
    assert limit.status_code == 422 and limit.json()["errors"][0]["field"] == "$.limit"
    assert (await stack.get("/api/v1/inbox", params={"limit": "many"}, headers=me)).status_code == 400

    cases = [
        ({"channels": ["inbox", "email"], "email": "not-an-address"}, 400, "email"),
        ({"channels": ["fax"]}, 400, "channels"),
        ({"channels": ["email"]}, 422, "$.email"),
        ({"channels": ["email", "email"], "email": "a@kitakata.example"}, 422, "$.channels"),
        ({"channels": "inbox"}, 400, "channels"),
    ]
    for body, status, field in cases:
        response = await stack.put("/api/v1/preferences", json=body, headers=me)
        assert response.status_code == status and field in response.text, (body, response.text)
    assert (await stack.get("/api/v1/preferences", headers=me)).json()["channels"][0] == "inbox"
    staff = {**stack.as_user("kitakata.caseworker"), **host("kitakata")}
    assert (await stack.put("/api/v1/preferences", json={"channels": ["inbox"]}, headers=staff)).status_code == 403

    # Saved per town: another town's portal keeps its own (the inbox alone until set).
    address = f"k-{uuid.uuid4().hex[:6]}@kitakata.example"
    saved = await stack.put("/api/v1/preferences", json={"channels": ["email", "inbox"], "email": address}, headers=me)
    assert saved.json() == {"channels": ["inbox", "email"], "email": address}
    assert (await stack.get("/api/v1/preferences", headers=me)).json() == saved.json()
    elsewhere = await stack.get("/api/v1/preferences", headers={**stack.as_user("kitakata.resident"), **host("showa")})
    assert elsewhere.json() == {"channels": ["inbox"], "email": None}
    reset = await stack.put("/api/v1/preferences", json={"channels": ["inbox"]}, headers=me)
    assert reset.json() == {"channels": ["inbox"], "email": None}


async def test_a_5xx_reply_is_a_permanent_failure_and_a_4xx_is_tried_again(nats_url, notifications_db, tmp_path):
    town = "kaneyama"
    bounce, busy, down = resident(town), resident(town), resident(town)
    addresses = {p.subject: f"{p.subject}@kaneyama.example" for p in (bounce, busy, down)}
    async with mail_sink(tmp_path / "mail") as sink, running_notifications(
        nats_url, notifications_db, smtp_to(sink, retry_backoff=(0.6,))
    ) as service:
        events = service.app.components.events
        sink.refuse(addresses[bounce.subject], "550 5.1.1 No such mailbox here")
        sink.refuse(addresses[busy.subject], "451 4.3.0 Mailbox busy, try again later", times=1)
        sink.refuse(addresses[down.subject], "421 4.3.2 Service shutting down")
        for who in (bounce, busy, down):
            prefs = notes.Preferences(channels=["inbox", "email"], email=addresses[who.subject])
            await bus(nats_url, town, notes.SET_PREFERENCES, prefs, who)
            await publish(nats_url, status_changed(town, who.subject))
        await events.caught_up()
        message = {who.subject: (await inbox_of(nats_url, town, who))[0]["id"] for who in (bounce, busy, down)}

        async def status(who: Principal, wanted: str) -> dict | None:
            [delivery] = await deliveries_of(nats_url, town, message[who.subject])
            return delivery if delivery["status"] == wanted else None

        first_try = await eventually(lambda: status(busy, "temporary-failure"))
        assert first_try["attempts"] == 1 and first_try["last_error"].startswith("SMTPRecipientsRefused: 451")
        assert first_try["next_attempt_at"] is not None

        refused = await eventually(lambda: status(bounce, "permanent-failure"))
        assert refused["attempts"] == 1 and "550 5.1.1" in refused["last_error"] and refused["next_attempt_at"] is None

        retried = await eventually(lambda: status(busy, "delivered"))
        assert retried["attempts"] == 2
        gave_up = await eventually(lambda: status(down, "permanent-failure"))
        assert gave_up["attempts"] == 2 and "gave up after 2 attempts" in gave_up["last_error"]

    assert [m["To"] for m in mails_to(sink, addresses[busy.subject])] == [addresses[busy.subject]]
    assert mails_to(sink, addresses[bounce.subject]) == [] and mails_to(sink, addresses[down.subject]) == []


async def test_mail_queued_while_the_relay_is_down_goes_out_when_it_returns(nats_url, notifications_db, tmp_path):
    town, who = "showa", resident("showa")
    address = f"{who.subject}@showa.example"
    port = local_servers.free_port()
    relay = SmtpSettings(host="127.0.0.1", port=port, timeout=2, retry_backoff=(0.3, 0.3, 0.3, 0.3))
    async with running_notifications(nats_url, notifications_db, relay) as service:
        await bus(nats_url, town, notes.SET_PREFERENCES, notes.Preferences(channels=["email"], email=address), who)
        await publish(nats_url, status_changed(town, who.subject))
        await service.app.components.events.caught_up()
        [message] = await inbox_of(nats_url, town, who)  # the inbox does not wait for the relay

        async def status(wanted: str) -> dict | None:
            [delivery] = await deliveries_of(nats_url, town, message["id"])
            return delivery if delivery["status"] == wanted else None

        waiting = await eventually(lambda: status("temporary-failure"))
        assert waiting["last_error"].startswith("relay unreachable")
        sink = MailSink(tmp_path / "mail", port=port)
        await sink.start()
        try:
            delivered = await eventually(lambda: status("delivered"))
        finally:
            await sink.stop()
    assert delivered["attempts"] >= 2
    assert len(mails_to(sink, address)) == 1


async def test_row_level_security_binds_the_service_role(notifications_urls, postgres):
    """The PostgreSQL runs above used a NOBYPASSRLS role; here: it sees one town at a time, and nothing unset."""
    database = make_url(notifications_urls["postgres"]).database
    superuser = create_engine(postgres.url(database))  # skips every policy: plants a row in each of two towns
    now = datetime.now(UTC)
    try:
        async with superuser.begin() as c:
            for town in ("yanaizu", "nishiaizu"):
                await c.execute(text(
                    "INSERT INTO processed_events (tenant, event_id, processed_at) VALUES (:t, :e, :at)"
                ), {"t": town, "e": str(uuid.uuid4()), "at": now})
    finally:
        await superuser.dispose()
    engine = create_engine(notifications_urls["postgres"])
    try:
        async with engine.connect() as c:
            forced = (await c.execute(text(
                "SELECT count(*) FROM pg_class WHERE relname = ANY(:t) AND relrowsecurity AND relforcerowsecurity"
            ), {"t": list(RLS_TABLES)})).scalar_one()
            assert forced == len(RLS_TABLES)
            assert (await c.execute(text("SELECT count(*) FROM processed_events"))).scalar_one() == 0  # no town set
        async with engine.begin() as c:
            await c.execute(text("SELECT set_config('aizu.tenant', 'yanaizu', true)"))
            towns = set((await c.execute(text("SELECT DISTINCT tenant FROM processed_events"))).scalars())
            assert towns == {"yanaizu"}
            moved = await c.execute(text("UPDATE processed_events SET processed_at = now() WHERE tenant = 'nishiaizu'"))
            assert moved.rowcount == 0
    finally:
        await engine.dispose()


def test_a_deliverys_message_id_is_whole_and_the_same_on_every_attempt():
    """A broadcast's delivery id (``key:resident``) was cut at its colon in the header."""
    from email import message_from_bytes, policy

    from services.notifications.channels.mailer import SmtpSettings, compose
    from services.notifications.delivery.outgoing import Outgoing

    def mail(attempts: int) -> str:
        item = Outgoing(delivery_id="bc-1f2e:kitakata-resident-0000042", tenant="kitakata", address="a@kitakata.example",
                        attempts=attempts, title_ja="お知らせ", body_ja="本文", title_en="Notice", body_en="Body")
        sent = compose(item, "喜多方市", SmtpSettings())
        return message_from_bytes(sent.as_bytes(), policy=policy.SMTP)["Message-ID"]

    first, again = mail(0), mail(3)
    assert first == again and first.startswith("<") and first.endswith("@kitakata.localhost>") and len(first) > 40
    other = Outgoing(delivery_id="bc-1f2e:kitakata-resident-0000043", tenant="kitakata", address="b@kitakata.example",
                     attempts=0, title_ja="お知らせ", body_ja="本文", title_en="Notice", body_en="Body")
    assert compose(other, "喜多方市", SmtpSettings())["Message-ID"] != first
