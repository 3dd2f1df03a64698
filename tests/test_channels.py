"""Web push, signed webhooks, fallback, dead letters, delivery outcome events and fair rate limits.

Real parts: nats-server, SQLite or PostgreSQL (app role under row-level security), the SMTP sink,
and a push service and a webhook receiver served over HTTP on loopback (tests/channel_servers.py).
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit
from datetime import UTC, datetime

import msgspec
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select

from contracts import notifications as notes
from contracts import subjects
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure
from contracts.principal import Principal
from services.notifications.channels.webhooks import pinned, resolve
from services.notifications.inbox.application_events import ApplicationEvents
from services.notifications.models import DeliveryRow, InboxRow, PushSubscriptionRow
from services.runtime import rls, streams
from services.runtime.database import create_engine
from tests.channel_servers import Browser, channel_servers
from tests.conftest import eventually, gateway_client, mail_sink, running_notifications, smtp_to
from tests.test_notifications import (
    bus,
    deliveries_of,
    inbox_of,
    mails_to,
    publish,
    resident,
    status_changed,
)

TOWN = "kitakata"


def admin(tenant: str) -> Principal:
    return Principal(subject=f"{tenant}.admin", roles=("tenant-admin",), tenant=tenant)


@pytest.fixture
def channel_env(monkeypatch, tmp_path):
    monkeypatch.setenv("AIZU_VAPID_DIR", str(tmp_path / "vapid"))
    monkeypatch.setenv("AIZU_PUSH_HOSTS", "127.0.0.1")
    monkeypatch.setenv("AIZU_PUSH_ALLOW_HTTP", "1")
    monkeypatch.setenv("AIZU_WEBHOOK_ALLOW_HTTP", "1")


@pytest.fixture
async def channels(region, nats_url, notifications_db, tmp_path, channel_env):
    """Notifications on the current backend, the SMTP sink, the push service and webhook receiver."""
    async with (
        mail_sink(tmp_path / "mail") as sink,
        channel_servers() as servers,
        running_notifications(nats_url, notifications_db, smtp_to(sink, (0.3, 0.3)), region) as service,
    ):
        servers.sink = sink
        servers.service = service
        yield servers


async def subscribe_push(nats_url: str, who: Principal, browser: Browser, base: str) -> dict:
    return await bus(nats_url, who.tenant, notes.PUT_PUSH_SUBSCRIPTION, msgspec.convert(browser.subscription(base), notes.PushSubscription), who)


async def prefer(nats_url: str, who: Principal, channels: list[str], email: str | None = None) -> None:
    await bus(nats_url, who.tenant, notes.SET_PREFERENCES, notes.Preferences(channels=channels, email=email), who)  # type: ignore[arg-type]


async def notify(nats_url: str, who: Principal) -> str:
    """A status change of the resident's application; returns their inbox message id."""
    event = status_changed(who.tenant, who.subject)
    await publish(nats_url, event)
    messages = await eventually(lambda: inbox_of(nats_url, who.tenant, who))
    return messages[0]["id"]


async def finished_events(nats_url: str, tenant: str) -> list[notes.DeliveryFinished]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        subject = subjects.event(tenant, "delivery", "finished")
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, filter_subject=subject)
        sub = await js.pull_subscribe(subject, stream=streams.EVENTS.name, config=config)
        pending = (await sub.consumer_info()).num_pending
        found: list[notes.DeliveryFinished] = []
        while len(found) < pending:
            for m in await sub.fetch(pending - len(found), timeout=2):
                found.append(msgspec.json.decode(m.data, type=notes.DeliveryFinished))
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def finished(nats_url: str, tenant: str, delivery_id: str) -> notes.DeliveryFinished | None:
    return next((e for e in await finished_events(nats_url, tenant) if e.delivery_id == delivery_id), None)


async def test_a_push_reaches_the_browser_encrypted_and_is_reported_finished(channels, nats_url):
    who, browser = resident(TOWN), Browser("a" + uuid.uuid4().hex[:8])
    await subscribe_push(nats_url, who, browser, channels.base)
    await prefer(nats_url, who, ["push"])
    message_id = await notify(nats_url, who)
    pushed = await eventually(lambda: _sync(channels.at(f"/push/{browser.name}")))
    content = browser.decrypt(pushed[0].body)  # only the subscriber's key opens it
    assert content["id"] == message_id and "承認" in content["title"] + content["body"]
    assert pushed[0].headers["content-encoding"] == "aes128gcm" and channels.bad_vapid == 0
    [delivery] = await eventually(lambda: _with_status(nats_url, TOWN, message_id, "delivered"))
    assert delivery["channel"] == "push" and delivery["address"] == who.subject
    event = await eventually(lambda: finished(nats_url, TOWN, delivery["id"]))
    assert (event.outcome, event.channel, event.kind) == ("delivered", "push", "application.status_changed")


async def _with_status(nats_url: str, tenant: str, message_id: str, status: str) -> list[dict]:
    return [d for d in await deliveries_of(nats_url, tenant, message_id) if d["status"] == status]


async def test_a_gone_subscription_is_removed_and_the_message_falls_back_to_email(channels, nats_url, notifications_db):
    who, browser = resident(TOWN), Browser("g" + uuid.uuid4().hex[:8])
    address = f"{who.subject}@example.jp"
    await subscribe_push(nats_url, who, browser, channels.base)
    await prefer(nats_url, who, ["push", "email"], address)
    channels.status[f"/push/{browser.name}"] = 410
    message_id = await notify(nats_url, who)
    await eventually(lambda: _sync(mails_to(channels.sink, address)))
    # The sink has the mail a moment before the delivery's status is written.
    await eventually(lambda: _with_status(nats_url, TOWN, message_id, "delivered"))
    listing = await deliveries_of(nats_url, TOWN, message_id)
    assert {(d["channel"], d["status"]) for d in listing} == {("push", "permanent-failure"), ("email", "delivered")}
    assert next(d for d in listing if d["channel"] == "push")["attempts"] == 1  # permanent: no retry
    engine = create_engine(notifications_db)
    try:
        async with rls.sessionmaker(engine)(info={rls.TENANT: TOWN}) as session, session.begin():
            left = await session.scalar(select(func.count()).select_from(PushSubscriptionRow).where(
                PushSubscriptionRow.tenant == TOWN, PushSubscriptionRow.subject == who.subject))
        assert left == 0
    finally:
        await engine.dispose()
    push = next(d for d in listing if d["channel"] == "push")
    event = await eventually(lambda: finished(nats_url, TOWN, push["id"]))
    assert event.outcome == "permanent-failure"


async def _sync(value):
    return value


async def test_webhooks_are_signed_and_a_receiver_down_ends_in_a_dead_letter_and_email(channels, nats_url):
    by_name = channels.base.replace("127.0.0.1", "localhost")  # sent to the address checked, under its name
    created = await bus(nats_url, TOWN, notes.ADD_WEBHOOK, notes.AddWebhook(
        url=f"{by_name}/hook/{uuid.uuid4().hex[:8]}", description="LINE 連携"), admin(TOWN))
    path = "/hook/" + created["webhook"]["url"].rsplit("/", 1)[1]
    channels.secrets[path] = created["secret"]
    assert created["secret"].startswith("whsec_")
    listing = await bus(nats_url, TOWN, notes.WEBHOOKS, notes.ListWebhooks(), admin(TOWN))
    assert "secret" not in msgspec.json.encode(listing).decode()
    try:
        who = resident(TOWN)
        await prefer(nats_url, who, ["webhook"])
        first = await notify(nats_url, who)
        [hook] = await eventually(lambda: _sync(channels.at(path)))
        body = msgspec.json.decode(hook.body, type=notes.WebhookMessage)
        assert body.recipient == who.subject and channels.bad_signatures == 0
        assert hook.headers["host"] == by_name.removeprefix("http://")
        await eventually(lambda: _with_status(nats_url, TOWN, first, "delivered"))

        # The receiver fails every attempt: temporary failures, retried, then a dead letter and email.
        channels.status[path] = 503
        other = resident(TOWN)
        address = f"{other.subject}@example.jp"
        await prefer(nats_url, other, ["webhook", "email"], address)
        second = await notify(nats_url, other)
        await eventually(lambda: _sync(mails_to(channels.sink, address)), timeout=15)
        failed = (await _with_status(nats_url, TOWN, second, "permanent-failure"))[0]
        assert failed["attempts"] == 3 and "gave up" in failed["last_error"]
        letters = await eventually(lambda: _letters_for(nats_url, failed["id"]))
        assert letters[0]["source"] == "delivery" and letters[0]["channel"] == "webhook"
    finally:
        await bus(nats_url, TOWN, notes.DELETE_WEBHOOK, notes.DeleteWebhook(id=created["webhook"]["id"]), admin(TOWN))


async def _letters_for(nats_url: str, delivery_id: str) -> list[dict]:
    listing = await bus(nats_url, TOWN, notes.DEAD_LETTERS, notes.ListDeadLetters(limit=500), admin(TOWN))
    return [d for d in listing["items"] if d.get("delivery_id") == delivery_id]


@pytest.mark.parametrize("notifications_db", ["postgres"], indirect=True)
async def test_one_towns_big_queue_does_not_starve_another_towns_message(region, nats_url, notifications_db, tmp_path, channel_env, monkeypatch):
    """Town A has 3,000 mails queued and a rate limit; town B's one mail still goes at once."""
    monkeypatch.setenv("AIZU_RATE_EMAIL", "50,50")
    big, small = "aizuwakamatsu", "showa"
    engine = create_engine(notifications_db)
    sessions = rls.sessionmaker(engine)
    now = datetime.now(UTC)

    async def queue(town: str, n: int, tag: str) -> list[str]:
        ids = []
        async with sessions(info={rls.TENANT: town}) as session, session.begin():
            for i in range(n):
                message_id = str(uuid.uuid4())
                session.add(InboxRow(
                    id=message_id, tenant=town, recipient=f"r{i}", kind="broadcast.news", event_id=message_id,
                    application_id=None, title_ja="お知らせ", body_ja="本文", title_en="News", body_en="Body",
                    created_at=now, read_at=None))
                session.add(DeliveryRow(
                    id=message_id, tenant=town, message_id=message_id, channel="email", address=f"{tag}{i}@example.jp",
                    status="created", attempts=0, last_error=None, next_attempt_at=now, created_at=now, updated_at=now))
                ids.append(message_id)
        return ids

    async def pending(town: str) -> int:
        async with sessions(info={rls.TENANT: town}) as session, session.begin():
            return await session.scalar(select(func.count()).select_from(DeliveryRow).where(
                DeliveryRow.tenant == town, DeliveryRow.status.in_(("created", "sending"))))

    tag = uuid.uuid4().hex[:6]
    try:
        async with mail_sink(tmp_path / "mail") as sink:
            await queue(big, 3000, f"a{tag}-")
            async with running_notifications(nats_url, notifications_db, smtp_to(sink), region, caught_up=False) as service:
                sender = service.app.components.sender
                await eventually(lambda: _sync(sender.sent > 0), timeout=10)  # town A is sending
                [b_id] = await queue(small, 1, f"b{tag}-")
                service.app.components.sender.notify(small)
                started = datetime.now(UTC)
                b_address = f"b{tag}-0@example.jp".encode()
                await eventually(lambda: _sync(any(b_address in p.read_bytes() for p in sink.messages())), timeout=10)
                took = (datetime.now(UTC) - started).total_seconds()
                left = await pending(big)
                print(f"town B's one mail delivered {took:.2f}s after queueing; town A still had {left} queued")
                assert took < 3 and left > 1000, (took, left)
                [b_delivery] = await eventually(lambda: _with_status(nats_url, small, b_id, "delivered"))
                assert b_delivery["attempts"] == 1
    finally:
        async with sessions(info={rls.TENANT: big}) as session, session.begin():
            await session.execute(DeliveryRow.__table__.delete().where(DeliveryRow.tenant == big, DeliveryRow.address.like(f"a{tag}-%")))
        await engine.dispose()


@pytest.fixture
async def routes(region, nats_url, notifications_db, channel_env, tmp_path):
    """The gateway in front of notifications (with the loopback push service allowed)."""
    async with (
        channel_servers() as servers,
        running_notifications(nats_url, notifications_db, region=region),
        gateway_client(region, nats_url) as client,
    ):
        client.servers = servers
        yield client


def at(client, user: str | None, town: str = TOWN) -> dict[str, str]:
    return {**(client.as_user(user) if user else {}), "host": f"{town}.localhost"}


async def test_push_routes_validate_the_subscription_and_are_residents_own(routes):
    key = await routes.get("/api/v1/push/key", headers=at(routes, None))
    assert key.status_code == 200 and len(key.json()["public_key"]) == 87  # 65 bytes, base64url
    good = Browser("r" + uuid.uuid4().hex[:8]).subscription(routes.servers.base)
    me = at(routes, "kitakata.resident")
    saved = await routes.put("/api/v1/push/subscription", json=good, headers=me)
    assert saved.status_code == 200 and saved.json()["endpoint"] == good["endpoint"]
    assert (await routes.put("/api/v1/push/subscription", json=good, headers=me)).json()["id"] == saved.json()["id"]

    bad_cases = [
        ({**good, "keys": {**good["keys"], "p256dh": "AAAA"}}, "$.keys.p256dh"),
        ({**good, "keys": {**good["keys"], "auth": "AAAA"}}, "$.keys.auth"),
        ({**good, "keys": {**good["keys"], "auth": "not base64!"}}, "auth"),
        ({**good, "endpoint": "https://evil.example/push"}, "$.endpoint"),
        ({**good, "endpoint": "ftp://x"}, "endpoint"),
        ({**good, "endpoint": "http://[push.example/"}, "$.endpoint"),  # an unclosed IPv6 bracket (was a 500)
        ({**good, "endpoint": good["endpoint"].replace(urlsplit(good["endpoint"]).netloc, urlsplit(good["endpoint"]).hostname + ":99999")}, "$.endpoint"),
        ({"endpoint": good["endpoint"]}, "keys"),
    ]
    for body, field in bad_cases:
        refused = await routes.put("/api/v1/push/subscription", json=body, headers=me)
        assert refused.status_code in (400, 422) and field in refused.text, (body, refused.text)
    for user in ("kitakata.caseworker", "showa.admin"):  # staff have no push subscriptions here
        denied = await routes.put("/api/v1/push/subscription", json=good, headers=at(routes, user))
        assert denied.status_code == 403, (user, denied.text)
    assert (await routes.put("/api/v1/push/subscription", json=good, headers=at(routes, None))).status_code == 401
    removed = await routes.request("DELETE", "/api/v1/push/subscription", json={"endpoint": good["endpoint"]}, headers=me)
    assert removed.json() == {"removed": True}
    again = await routes.request("DELETE", "/api/v1/push/subscription", json={"endpoint": good["endpoint"]}, headers=me)
    assert again.json() == {"removed": False}


async def test_webhook_routes_are_the_towns_tenant_admins(routes):
    admin_here = at(routes, "kitakata.admin")
    body = {"url": f"{routes.servers.base}/hook/x", "description": "LINE 連携"}
    created = await routes.post("/api/v1/webhooks", json=body, headers=admin_here)
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    hook_id = created.json()["webhook"]["id"]
    try:
        listing = (await routes.get("/api/v1/webhooks", headers=admin_here)).json()
        assert hook_id in [w["id"] for w in listing["items"]] and "whsec_" not in str(listing)
        for bad, field in (({**body, "url": "javascript:alert(1)"}, "url"), ({**body, "description": ""}, "description"),
                           ({"url": body["url"]}, "description")):
            refused = await routes.post("/api/v1/webhooks", json=bad, headers=admin_here)
            assert refused.status_code in (400, 422) and field in refused.text, refused.text
        for user, town in (("showa.admin", TOWN), ("kitakata.caseworker", TOWN), ("kitakata.resident", TOWN)):
            for method, path, payload in (("GET", "/api/v1/webhooks", None), ("POST", "/api/v1/webhooks", body),
                                          ("DELETE", f"/api/v1/webhooks/{hook_id}", None)):
                denied = await routes.request(method, path, json=payload, headers=at(routes, user, town))
                assert denied.status_code == 403, (user, method, path, denied.text)
        # Another town's admin, in their own town, does not see or remove this town's webhook.
        elsewhere = at(routes, "showa.admin", "showa")
        assert hook_id not in str((await routes.get("/api/v1/webhooks", headers=elsewhere)).json())
        assert (await routes.delete(f"/api/v1/webhooks/{hook_id}", headers=elsewhere)).json() == {"removed": False}
    finally:
        assert (await routes.delete(f"/api/v1/webhooks/{hook_id}", headers=admin_here)).json() == {"removed": True}


async def test_deliveries_and_dead_letters_are_for_the_towns_staff(routes):
    deliveries = await routes.get("/api/v1/deliveries", headers=at(routes, "kitakata.caseworker"))
    assert deliveries.status_code == 200 and "items" in deliveries.json()
    letters = await routes.get("/api/v1/dead-letters", headers=at(routes, "kitakata.admin"))
    assert letters.status_code == 200 and all(d["tenant"] == TOWN for d in letters.json()["items"])
    for params, field in (({"limit": 0}, "$.limit"), ({"status": "lost"}, "status")):
        refused = await routes.get("/api/v1/deliveries", params=params, headers=at(routes, "kitakata.caseworker"))
        assert refused.status_code in (400, 422) and field in refused.text, refused.text
    refused = await routes.get("/api/v1/dead-letters", params={"limit": 501}, headers=at(routes, "kitakata.admin"))
    assert refused.status_code == 422 and "$.limit" in refused.text
    for user in ("showa.caseworker", "showa.admin", "kitakata.resident"):
        assert (await routes.get("/api/v1/deliveries", headers=at(routes, user))).status_code == 403, user
    for user in ("showa.admin", "kitakata.caseworker", "kitakata.resident"):
        assert (await routes.get("/api/v1/dead-letters", headers=at(routes, user))).status_code == 403, user


class FailingOn(ApplicationEvents):
    """The consumer, failing every attempt at one event (as when its town's data cannot be written)."""

    def __init__(self, *args, poison: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.poison = poison

    async def record(self, tenant, event):  # type: ignore[override]
        if event.event_id == self.poison:
            raise RuntimeError("database refused the write")
        return False


@pytest.mark.parametrize("notifications_db", ["sqlite"], indirect=True)
async def test_an_event_that_fails_every_attempt_becomes_a_dead_letter(region, nats_url, notifications_db):
    event = status_changed(TOWN, "someone")
    engine = create_engine(notifications_db)
    nc = await nats.connect(nats_url)
    consumer = FailingOn(rls.sessionmaker(engine), region, durable=f"dlq-test-{uuid.uuid4().hex[:6]}",
                         backoff=(0.2, 0.2), poison=event.event_id)
    try:
        await publish(nats_url, event)
        await consumer.subscribe(nc.jetstream())
        await eventually(lambda: _sync(consumer.dead_letters), timeout=15)
        await consumer.caught_up()  # terminated: not left in the stream
        from services.notifications.delivery.dead_letters import read

        letters = [d for d in await read(nc.jetstream(), TOWN, 500) if d.event_subject and event.event_id in (d.event or "")]
        assert letters and letters[0].source == "event" and letters[0].attempts == 3
        assert "database refused" in letters[0].reason
    finally:
        await consumer.stop()
        await nc.jetstream().delete_consumer(streams.EVENTS.name, consumer.durable)
        await nc.close()
        await engine.dispose()


@pytest.mark.parametrize("notifications_db", ["sqlite"], indirect=True)
async def test_webhooks_must_be_https_in_production(region, nats_url, notifications_db, monkeypatch, tmp_path):
    monkeypatch.setenv("AIZU_VAPID_DIR", str(tmp_path / "vapid"))
    monkeypatch.delenv("AIZU_WEBHOOK_ALLOW_HTTP", raising=False)
    async with running_notifications(nats_url, notifications_db, region=region) as service:
        reply = await service.nc.request(
            subjects.request(TOWN, subjects.NOTIFICATIONS, notes.ADD_WEBHOOK),
            msgspec.json.encode(notes.AddWebhook(url="http://127.0.0.1:9/hook", description="bridge")),
            headers=_principal_header(admin(TOWN)), timeout=5,
        )
        assert b"$.url" in reply.data and b"https" in reply.data
        # https is not enough: an address inside the service's own network is refused (SSRF).
        inside = ("https://127.0.0.1:4222/hook", "https://10.0.0.5/hook", "https://169.254.169.254/latest", "https://[::1]/",
                  # 127.0.0.1 and 10.0.0.1 carried inside IPv6: NAT64, IPv4-mapped, 6to4
                  "https://[64:ff9b::7f00:1]/", "https://[::ffff:10.0.0.1]/", "https://[2002:7f00:1::]/")
        for inward in inside:
            reply = await service.nc.request(
                subjects.request(TOWN, subjects.NOTIFICATIONS, notes.ADD_WEBHOOK),
                msgspec.json.encode(notes.AddWebhook(url=inward, description="bridge")),
                headers=_principal_header(admin(TOWN)), timeout=5,
            )
            assert b"$.url" in reply.data and b"non-public" not in reply.data and b"public" in reply.data, inward
        # Malformed hosts and ports are one 422 naming the URL (they were server errors).
        for malformed in ("https://xn--a.example/", "https://[::1/", "https://" + "a" * 86 + ".example/",
                          "https://host.example:99999/", "https://a..example/", "https://exa mple.jp/"):
            reply = await service.nc.request(
                subjects.request(TOWN, subjects.NOTIFICATIONS, notes.ADD_WEBHOOK),
                msgspec.json.encode(notes.AddWebhook(url=malformed, description="bridge")),
                headers=_principal_header(admin(TOWN)), timeout=5,
            )
            envelope = msgspec.json.decode(reply.data, type=ErrorEnvelope)
            assert envelope.code is ErrorCode.VALIDATION and envelope.fields[0].field == "$.url", (malformed, envelope)
        listed = await service.nc.request(
            subjects.request(TOWN, subjects.NOTIFICATIONS, notes.WEBHOOKS), b"{}", headers=_principal_header(admin(TOWN)), timeout=5,
        )
        assert b"127.0.0.1:4222" not in listed.data and b"169.254" not in listed.data and b"ff9b" not in listed.data


async def test_a_webhook_is_posted_to_the_address_that_was_checked():
    assert pinned("https://bridge.example.jp:8443/line?x=1", "203.0.113.7") == (
        "https://203.0.113.7:8443/line?x=1", "bridge.example.jp:8443")
    assert pinned("https://bridge.example.jp/h", "2001:db8::1") == ("https://[2001:db8::1]/h", "bridge.example.jp")
    # An internationalised name goes in A-labels: Host and SNI are ASCII (httpx refused the Unicode).
    assert pinned("https://会津.example/h", "203.0.113.7") == ("https://203.0.113.7/h", "xn--6oq554e.example")
    assert pinned("https://[2001:db8::1]:8443/h", "2001:db8::1") == ("https://[2001:db8::1]:8443/h", "[2001:db8::1]:8443")
    inward = await resolve("https://localhost/h")
    assert inward.address is None and inward.refused in ("127.0.0.1", "::1")
    assert (await resolve("https://localhost/h", allow_local=True)).address in ("127.0.0.1", "::1")
    assert (await resolve("https://no-such-host.invalid/h")) == (None, "no-such-host.invalid")
    assert (await resolve("https://" + "a" * 86 + ".example/h")).address is None  # a stored URL from before the check


@pytest.mark.parametrize(("address", "inside"), [
    ("203.0.113.7", True), ("8.8.8.8", False), ("2606:4700::1111", False),
    ("64:ff9b::808:808", False), ("64:ff9b::7f00:1", True), ("64:ff9b:1::a00:1", True), ("64:ff9b:1:0:808:808::", True),
    ("::ffff:127.0.0.1", True), ("::127.0.0.1", True), ("2002:0a00:0001::", True), ("2002:0808:0808::", False),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", True), ("ff02::1", True), ("224.0.0.1", True),
])
def test_the_webhook_address_check_looks_inside_ipv6_embeddings(address, inside):
    import ipaddress

    from services.notifications.channels.webhook_address import inward

    assert inward(ipaddress.ip_address(address)) is inside


def test_webhook_host_names_are_encoded_by_idna():
    from services.notifications.channels.webhook_address import parse

    assert parse("https://会津若松.example/h").host == "xn--6oq970d94dmm0a.example"
    assert parse("https://Bridge.Example.JP./h").host == "bridge.example.jp"
    with pytest.raises(ServiceFailure):
        parse("https://user:secret@bridge.example.jp/h")  # credentials do not go in a URL


def _principal_header(who: Principal) -> dict[str, str]:
    from contracts import headers as h
    from contracts.principal import encode

    return {h.PRINCIPAL: encode(who)}


def test_rate_limits_come_from_the_environment_per_town_and_channel():
    from services.notifications.delivery.ratelimit import Limits, limits_from_env

    limits = limits_from_env({"AIZU_RATE_EMAIL": "10,20", "AIZU_RATE_PUSH": "0", "AIZU_RATE_WEBHOOK": "5"})
    assert limits == {"email": (10.0, 20.0), "webhook": (5.0, 5.0)}
    buckets = Limits(limits)
    assert buckets.available("kitakata", "email", 100) == 20  # the burst, then the rate
    buckets.take("kitakata", "email", 20)
    assert buckets.available("kitakata", "email", 100) <= 1
    assert buckets.available("showa", "email", 100) == 20  # another town has its own bucket
    assert buckets.available("kitakata", "push", 100) == 100  # no limit
