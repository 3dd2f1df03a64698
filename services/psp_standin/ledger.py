"""The stand-in's own record: checkout sessions, payment intents, charges, refunds, the balance
transactions its settlement would list, and the events it notifies. Objects are Stripe's JSON
shapes, so the official SDK reads them as it reads Stripe's."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Stripe's limits on a Checkout Session's ``expires_at`` (30 minutes to 24 hours from now), with
#: a minute's slack for the caller's clock and the request's flight.
MIN_WINDOW, MAX_WINDOW, SLACK = 30 * 60, 24 * 3600, 60
#: Stripe's smallest charge in yen.
MIN_JPY = 50
#: Stripe's test cards: this one always succeeds; the others are declined with these codes.
GOOD_CARDS = {"4242424242424242"}
DECLINES = {"4000000000000002": "card_declined", "4000000000009995": "insufficient_funds",
            "4000000000000069": "expired_card"}


class StripeFailure(Exception):
    """Answered as Stripe answers an error: ``{"error": {...}}`` with an HTTP status."""

    def __init__(self, status: int, type_: str, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {k: v for k, v in {"type": type_, "message": message, "code": code, "param": param}.items()
                               if v is not None}}


def invalid(message: str, param: str | None = None, code: str | None = None, status: int = 400) -> StripeFailure:
    return StripeFailure(status, "invalid_request_error", message, code, param)


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


@dataclass
class Ledger:
    #: Where the hosted page is: ``{base}/pay/{session id}``.
    base_url: str
    #: Called with each new event (the webhook sender queues it).
    notify: Callable[[dict[str, Any]], None] = lambda event: None
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Idempotency key → (the request's fingerprint, the answer given).
    _keys: dict[str, tuple[str, tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    # -- requests made with an idempotency key ------------------------------------------------

    def once(self, key: str | None, fingerprint: str, make: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any]]:
        """Stripe's idempotency: the same key and request give the first answer again; the same
        key with other parameters is refused."""
        if key is None:
            return make()
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()
        if key in self._keys:
            seen, answer = self._keys[key]
            if seen != digest:
                raise StripeFailure(400, "idempotency_error", "Keys for idempotent requests can only be used with the "
                                    "same parameters they were first used with.")
            return answer
        try:
            answer = make()
        except StripeFailure as exc:
            answer = (exc.status, exc.body)
        self._keys[key] = (digest, answer)
        return answer

    # -- checkout sessions ---------------------------------------------------------------------

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise invalid("Only mode=payment is supported here.", "mode")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("line_items is required in payment mode.", "line_items")
        amount = 0
        names = []
        for n, item in enumerate(items):
            price = item.get("price_data") or {}
            if price.get("currency") != "jpy":
                raise invalid("This account settles in JPY only.", f"line_items[{n}][price_data][currency]")
            try:
                unit, quantity = int(price["unit_amount"]), int(item.get("quantity", 1))
            except (KeyError, ValueError):
                raise invalid("An integer unit_amount is required.", f"line_items[{n}][price_data][unit_amount]") from None
            amount += unit * quantity
            names.append(str((price.get("product_data") or {}).get("name", "")))
        if amount < MIN_JPY:
            raise invalid(f"The Checkout Session's total amount must be at least ¥{MIN_JPY}.", "line_items", "amount_too_small")
        now = int(time.time())
        expires_at = int(params.get("expires_at", now + MAX_WINDOW))
        if not now + MIN_WINDOW - SLACK <= expires_at <= now + MAX_WINDOW + SLACK:
            raise invalid("The expires_at timestamp must be between 30 minutes and 24 hours from now.", "expires_at")
        for url in ("success_url", "cancel_url"):
            if not str(params.get(url, "")).startswith(("http://", "https://")):
                raise invalid(f"Not a valid URL: {url}.", url, "url_invalid")
        session_id = _id("cs")
        intent_data = params.get("payment_intent_data") or {}
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
            "payment_status": "unpaid", "amount_total": amount, "amount_subtotal": amount, "currency": "jpy",
            "url": f"{self.base_url}/pay/{session_id}", "success_url": params["success_url"],
            "cancel_url": params["cancel_url"], "client_reference_id": params.get("client_reference_id"),
            "metadata": dict(params.get("metadata") or {}), "payment_intent": None, "created": now,
            "expires_at": expires_at, "locale": params.get("locale"), "livemode": False,
            "_names": names, "_intent_metadata": dict(intent_data.get("metadata") or {}),
        }
        self.sessions[session_id] = session
        return session

    def session(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise invalid(f"No such checkout.session: '{session_id}'", "session", "resource_missing", 404)
        return session

    def expire(self, session_id: str) -> dict[str, Any]:
        session = self.session(session_id)
        if session["status"] != "open":
            raise invalid(f"Only Checkout Sessions with a status of open can be expired; this one is {session['status']}.",
                          code="checkout_session_not_open")
        session["status"] = "expired"
        session["url"] = None
        self._event("checkout.session.expired", session)
        return session

    def sweep(self) -> None:
        """Open sessions past their time expire, as at Stripe."""
        now = time.time()
        for session in list(self.sessions.values()):
            if session["status"] == "open" and session["expires_at"] <= now:
                self.expire(session["id"])

    def pay(self, session_id: str, card: str) -> dict[str, Any]:
        """The resident pressed 支払う with ``card`` on the hosted page."""
        session = self.session(session_id)
        if session["status"] != "open":
            raise invalid("This Checkout Session is no longer open.", code="checkout_session_not_open")
        number = "".join(ch for ch in card if ch.isdigit())
        if number in DECLINES:
            raise StripeFailure(402, "card_error", "Your card was declined.", DECLINES[number])
        if number not in GOOD_CARDS:
            raise StripeFailure(402, "card_error", "Your card number is incorrect.", "incorrect_number")
        now = int(time.time())
        intent_id, charge_id = _id("pi"), _id("ch")
        metadata = session["_intent_metadata"]
        amount = session["amount_total"]
        self.intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": "jpy",
            "status": "succeeded", "latest_charge": charge_id, "metadata": metadata, "created": now, "livemode": False,
        }
        charge = {
            "id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": 0,
            "currency": "jpy", "paid": True, "captured": True, "refunded": False, "status": "succeeded",
            "payment_intent": intent_id, "metadata": metadata, "created": now, "livemode": False,
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": number[-4:]}},
        }
        self.charges[charge_id] = charge
        self._balance(amount, "charge", charge_id, now)
        session.update(status="complete", payment_status="paid", payment_intent=intent_id, url=None)
        self._event("charge.succeeded", charge)
        self._event("payment_intent.succeeded", self.intents[intent_id])
        self._event("checkout.session.completed", session)
        return session

    # -- payment intents and refunds -----------------------------------------------------------

    def intent(self, intent_id: str) -> dict[str, Any]:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise invalid(f"No such payment_intent: '{intent_id}'", "intent", "resource_missing", 404)
        return intent

    def refund(self, params: dict[str, Any]) -> dict[str, Any]:
        if "payment_intent" in params:
            charge_id = self.intent(str(params["payment_intent"]))["latest_charge"]
        elif "charge" in params:
            charge_id = str(params["charge"])
        else:
            raise invalid("One of charge or payment_intent is required.", "payment_intent")
        charge = self.charges.get(charge_id)
        if charge is None:
            raise invalid(f"No such charge: '{charge_id}'", "charge", "resource_missing", 404)
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount", left))
        if charge["refunded"] or amount > left:
            raise invalid(f"Charge {charge_id} has already been refunded.", code="charge_already_refunded")
        now = int(time.time())
        refund_id = _id("re")
        refund = {"id": refund_id, "object": "refund", "amount": amount, "currency": "jpy", "charge": charge_id,
                  "payment_intent": charge["payment_intent"], "status": "succeeded",
                  "metadata": dict(params.get("metadata") or {}), "created": now}
        self.refunds[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._balance(-amount, "refund", refund_id, now)
        self._event("refund.created", refund)
        self._event("charge.refunded", charge)
        return refund

    # -- what it records -------------------------------------------------------------------------

    def _balance(self, amount: int, type_: str, source: str, now: int) -> None:
        self.balance.append({"id": _id("txn"), "object": "balance_transaction", "amount": amount, "currency": "jpy",
                             "type": type_, "source": source, "created": now, "status": "pending"})

    def _event(self, type_: str, obj: dict[str, Any]) -> None:
        event = {"id": _id("evt"), "object": "event", "type": type_, "api_version": "2025-03-31.basil",
                 "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                 "data": {"object": public(obj)}}
        self.events.append(event)
        self.notify(event)


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as the API shows it (without the stand-in's own notes)."""
    return json.loads(json.dumps({k: v for k, v in obj.items() if not k.startswith("_")}))
