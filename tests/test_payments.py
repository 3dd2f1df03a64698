"""Paying a fee: online on the payment provider's page (our Stripe-speaking stand-in on loopback,
driven by the official SDK), at the counter in cash or by card; refunds when a paid application
is rejected or withdrawn; the provider's notifications replayed, repeated and reordered; a day's
reconciliation against the provider's own record. Real nats-server, services, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
import stripe

from services.psp_standin.server import Psp, running_psp
from services.runtime.settings import PaymentSettings
from tests.conftest import GatewayClient, eventually, gateway_client, running_procedures

APPS = "/api/v1/applications"
RESIDENT = "kitakata.resident"
CASEWORKER = "kitakata.caseworker"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass
class Paying:
    gateway: GatewayClient
    psp: Psp

    @property
    def origin(self) -> str:
        return f"http://kitakata.localhost:{self.gateway.port}"

    async def file(self, copies: int = 2, payment: str | None = "online", user: str = RESIDENT) -> dict:
        body = {"code": "juminhyo-copy", "answers": {"copies": str(copies), "delivery": "post"}}
        if payment:
            body["payment"] = payment
        filed = await self.gateway.post(APPS, json=body, headers={**self.gateway.as_user(user), "idempotency-key": str(uuid.uuid4())})
        assert filed.status_code == 201, filed.text
        return filed.json()["application"]

    async def page(self, application_id: str, user: str = RESIDENT) -> httpx.Response:
        return await self.gateway.post(f"{APPS}/{application_id}/payment", json={"return_origin": self.origin},
                                       headers=self.gateway.as_user(user))

    async def pay(self, url: str, card: str = GOOD_CARD) -> httpx.Response:
        """The resident on the provider's page: types a card and presses 支払う."""
        async with httpx.AsyncClient() as browser:
            shown = await browser.get(url)
            assert shown.status_code == 200 and "支払う" in shown.text
            return await browser.post(url, data={"card_number": card, "expiry": "12/30", "cvc": "123"})

    async def detail(self, application_id: str, user: str = RESIDENT) -> dict:
        return (await self.gateway.get(f"{APPS}/{application_id}", headers=self.gateway.as_user(user))).json()

    async def paid(self, application_id: str) -> dict:
        async def settled() -> dict | None:
            detail = await self.detail(application_id)
            return detail if detail["payment"]["state"] == "paid" else None
        return await eventually(settled, timeout=15)


@pytest.fixture
async def paying(region, nats_url, procedures_db) -> AsyncIterator[Paying]:
    async with gateway_client(region, nats_url) as gateway:
        async with running_psp(f"http://{{tenant}}.localhost:{gateway.port}/api/v1/payments/webhook") as psp:
            settings = PaymentSettings(api_url=psp.url, secret_key=psp.secret_key, webhook_secret=psp.webhook_secret,
                                       window_seconds=1800, retry_seconds=0.5)
            async with running_procedures(nats_url, procedures_db, payment=settings):
                yield Paying(gateway, psp)


async def queue(paying: Paying) -> list[str]:
    listed = await paying.gateway.get(APPS, headers=paying.gateway.as_user(CASEWORKER))
    return [a["id"] for a in listed.json()["items"]]


async def test_a_fee_paid_online_puts_the_application_in_the_queue(paying: Paying) -> None:
    filed = await paying.file(copies=2)
    assert filed["status"] == "awaiting_payment" and filed["fee_yen"] == 600 and filed["payment_state"] == "awaiting_payment"
    assert filed["id"] not in await queue(paying)  # nothing for the town to do yet
    opened = await paying.page(filed["id"])
    assert opened.status_code == 201, opened.text
    url = opened.json()["url"]
    again = await paying.page(filed["id"])  # a second tap: the same page, not a second charge
    assert again.json()["url"] == url
    back = await paying.pay(url)
    assert back.status_code == 303 and back.headers["location"].startswith(f"{paying.origin}/applications/{filed['id']}?paid=1")
    detail = await paying.paid(filed["id"])
    assert detail["summary"]["status"] == "received" and detail["payment"]["method"] == "online"
    assert [h["to_status"] for h in detail["history"]] == ["awaiting_payment", "received"]
    assert filed["id"] in await queue(paying)
    staff_view = (await paying.gateway.get(APPS, headers=paying.gateway.as_user(CASEWORKER))).json()["items"]
    assert next(a for a in staff_view if a["id"] == filed["id"])["payment_state"] == "paid"
    # No card detail ever reached the platform: the provider's page took it.
    assert GOOD_CARD.replace(" ", "") not in str(detail)


async def test_back_from_the_page_the_payment_shows_before_the_notification(paying: Paying) -> None:
    paying.psp.faults(delay_seconds=5)
    filed = await paying.file()
    await paying.pay((await paying.page(filed["id"])).json()["url"])
    confirmed = await paying.gateway.post(f"{APPS}/{filed['id']}/payment/confirm", headers=paying.gateway.as_user(RESIDENT))
    assert confirmed.status_code == 200 and confirmed.json()["payment"]["state"] == "paid"
    # The late notification changes nothing: one payment, one move into the queue.
    await paying.psp.delivered("checkout.session.completed", 1, timeout=15)
    detail = await paying.detail(filed["id"])
    assert [h["to_status"] for h in detail["history"]] == ["awaiting_payment", "received"]


async def test_a_declined_card_can_be_tried_again(paying: Paying) -> None:
    filed = await paying.file()
    url = (await paying.page(filed["id"])).json()["url"]
    declined = await paying.pay(url, DECLINED_CARD)
    assert declined.status_code == 402 and "カードが使えませんでした" in declined.text
    assert (await paying.detail(filed["id"]))["payment"]["state"] == "awaiting_payment"
    assert (await paying.pay(url)).status_code == 303
    await paying.paid(filed["id"])


async def test_an_abandoned_page_expires_and_the_fee_is_paid_later(paying: Paying) -> None:
    filed = await paying.file()
    first = (await paying.page(filed["id"])).json()["url"]
    session_id = first.rstrip("/").rsplit("/", 1)[-1]
    paying.psp.expire_now(session_id)

    async def expired() -> bool:
        return (await paying.detail(filed["id"]))["payment"]["state"] == "expired"
    await eventually(expired, timeout=15)
    later = await paying.page(filed["id"])
    assert later.status_code == 201 and later.json()["url"] != first  # a new page
    assert (await paying.detail(filed["id"]))["payment"]["state"] == "awaiting_payment"
    assert (await paying.pay(later.json()["url"])).status_code == 303
    await paying.paid(filed["id"])


async def test_repeated_replayed_and_reordered_notifications_leave_one_payment(paying: Paying) -> None:
    paying.psp.faults(duplicate=3, reorder=True, hold=2)
    filed = await paying.file()
    await paying.pay((await paying.page(filed["id"])).json()["url"])
    await paying.psp.delivered("checkout.session.completed", 4, timeout=20)
    paying.psp.faults()
    for event in [e for e in paying.psp.events if e["type"] == "checkout.session.completed"]:
        await paying.psp.resend(event["id"])  # a replay of what was already handled
    detail = await paying.paid(filed["id"])
    assert [h["to_status"] for h in detail["history"]] == ["awaiting_payment", "received"]
    day = datetime.now(TOKYO).date().isoformat()
    lines = (await paying.gateway.get("/api/v1/payments/reconciliation", params={"day": day},
                                      headers=paying.gateway.as_user(CASEWORKER))).json()["lines"]
    assert [line["amount_yen"] for line in lines if line["application_id"] == filed["id"]] == [600]


async def test_a_paid_application_rejected_is_refunded(paying: Paying) -> None:
    filed = await paying.file(copies=1)
    await paying.pay((await paying.page(filed["id"])).json()["url"])
    await paying.paid(filed["id"])
    moved = await paying.gateway.post(f"{APPS}/{filed['id']}/transitions", json={"to": "rejected", "comment": "記載不備"},
                                      headers=paying.gateway.as_user(CASEWORKER))
    assert moved.status_code == 200, moved.text
    assert moved.json()["payment"]["state"] == "refunded"
    refunds = [t for t in await paying.psp.balance_transactions() if t["type"] == "refund"]
    assert [t["amount"] for t in refunds] == [-300]
    await paying.psp.delivered("charge.refunded", 1, timeout=15)  # its notification changes nothing more
    assert (await paying.detail(filed["id"]))["payment"]["state"] == "refunded"


async def test_withdrawn_before_paying_nothing_is_owed_and_the_page_is_closed(paying: Paying) -> None:
    filed = await paying.file()
    url = (await paying.page(filed["id"])).json()["url"]
    moved = await paying.gateway.post(f"{APPS}/{filed['id']}/transitions", json={"to": "withdrawn"},
                                      headers=paying.gateway.as_user(RESIDENT))
    assert moved.status_code == 200 and moved.json()["payment"]["state"] == "cancelled"
    async with httpx.AsyncClient() as browser:
        assert "期限が切れました" in (await browser.get(url)).text
    again = await paying.page(filed["id"])
    assert again.status_code == 409


async def test_the_counter_takes_cash_and_another_town_cannot_record_it(paying: Paying) -> None:
    filed = await paying.file(payment="counter")
    assert filed["status"] == "received" and filed["payment_state"] == "awaiting_payment"
    path = f"{APPS}/{filed['id']}/counter-payment"
    other = await paying.gateway.post(path, json={"method": "cash"}, headers=paying.gateway.as_user("aizuwakamatsu.caseworker"))
    assert other.status_code == 403
    resident = await paying.gateway.post(path, json={"method": "cash"}, headers=paying.gateway.as_user(RESIDENT))
    assert resident.status_code == 403
    bad = await paying.gateway.post(path, json={"method": "cheque"}, headers=paying.gateway.as_user(CASEWORKER))
    assert bad.status_code == 400 and "method" in bad.text
    assert (await paying.detail(filed["id"]))["payment"]["state"] == "awaiting_payment"  # nothing half-written
    taken = await paying.gateway.post(path, json={"method": "cash"}, headers=paying.gateway.as_user(CASEWORKER))
    assert taken.status_code == 200 and taken.json()["payment"] == {**taken.json()["payment"], "state": "paid", "method": "cash"}
    twice = await paying.gateway.post(path, json={"method": "card"}, headers=paying.gateway.as_user(CASEWORKER))
    assert twice.status_code == 409
    # Rejected: the cash is handed back at the desk, and recorded.
    await paying.gateway.post(f"{APPS}/{filed['id']}/transitions", json={"to": "rejected"}, headers=paying.gateway.as_user(CASEWORKER))
    assert (await paying.detail(filed["id"]))["payment"]["state"] == "refund_pending"
    back = await paying.gateway.post(path, json={"method": "cash", "kind": "refund"}, headers=paying.gateway.as_user(CASEWORKER))
    assert back.status_code == 200 and back.json()["payment"]["state"] == "refunded"


async def test_a_forged_or_misdirected_notification_is_refused(paying: Paying) -> None:
    filed = await paying.file()
    url = (await paying.page(filed["id"])).json()["url"]
    await paying.pay(url)
    await paying.paid(filed["id"])
    event = next(e for e in paying.psp.events if e["type"] == "checkout.session.completed")
    payload = stripe.util.json.dumps(event["body"]) if hasattr(stripe, "util") else __import__("json").dumps(event["body"])
    forged = stripe.WebhookSignature._compute_signature(f"1:{payload}", "whsec_wrong")  # type: ignore[attr-defined]
    refused = await paying.gateway.post("/api/v1/payments/webhook", content=payload,
                                        headers={"stripe-signature": f"t=1,v1={forged}", "content-type": "application/json"})
    assert refused.status_code == 400 and "Stripe-Signature" in refused.text
    # Signed rightly but for 喜多方市, sent to 会津若松市's address: refused there.
    elsewhere = await paying.psp.deliver_to(event["id"], f"http://aizuwakamatsu.localhost:{paying.gateway.port}/api/v1/payments/webhook")
    assert elsewhere == 400


async def test_paying_is_for_the_applicant_and_returns_to_their_town(paying: Paying) -> None:
    filed = await paying.file()
    staff = await paying.page(filed["id"], user=CASEWORKER)
    assert staff.status_code == 403
    stranger = await paying.page(filed["id"], user="kitakata.resident-basic")
    assert stranger.status_code == 404
    away = await paying.gateway.post(f"{APPS}/{filed['id']}/payment", json={"return_origin": "https://evil.example"},
                                     headers=paying.gateway.as_user(RESIDENT))
    assert away.status_code == 422 and "$.return_origin" in away.text


async def test_a_days_reconciliation_equals_the_providers_record(paying: Paying) -> None:
    """100 payments online (and two at the counter, which the provider never sees)."""
    async def one(copies: int) -> str:
        filed = await paying.file(copies=copies)
        await paying.pay((await paying.page(filed["id"])).json()["url"])
        return filed["id"]

    day = datetime.now(TOKYO).date().isoformat()

    async def report() -> list[dict[str, str]]:
        answer = await paying.gateway.get("/api/v1/payments/reconciliation.csv", params={"day": day},
                                          headers=paying.gateway.as_user(CASEWORKER))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))

    before = len(await report())  # the town's earlier payments today (other tests')
    ids = []
    for start in range(0, 100, 10):
        ids += await asyncio.gather(*(one(1 + (start + i) % 3) for i in range(10)))
    for application_id in ids:
        await paying.paid(application_id)
    for _ in range(2):
        counter = await paying.file(payment="counter")
        await paying.gateway.post(f"{APPS}/{counter['id']}/counter-payment", json={"method": "card"},
                                  headers=paying.gateway.as_user(CASEWORKER))
    rows = (await report())[before:]
    online = {r["決済事業者の参照"]: int(r["金額（円）"]) for r in rows if r["方法"] == "オンライン"}
    provider = {t["source"]: t["amount"] for t in await paying.psp.balance_transactions() if t["type"] == "charge"}
    assert len(online) == 100 and online == provider
    assert sum(1 for r in rows if r["方法"] != "オンライン") == 2
    other = await paying.gateway.get("/api/v1/payments/reconciliation", params={"day": day},
                                     headers=paying.gateway.as_user("aizuwakamatsu.caseworker"))
    assert other.status_code == 403
    bad = await paying.gateway.get("/api/v1/payments/reconciliation", params={"day": "昨日"}, headers=paying.gateway.as_user(CASEWORKER))
    assert bad.status_code == 400 and "day" in bad.text
