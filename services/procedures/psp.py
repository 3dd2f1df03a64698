"""The payment provider, through its official SDK (Stripe's ``stripe``): hosted checkout pages,
refunds, and verifying its signed notifications.

Configured by :class:`services.runtime.settings.PaymentSettings`: production points it at the
provider, development and tests at our stand-in on loopback (``services/psp_standin``), which
speaks the same API. Every call that creates something carries an idempotency key, so a retry
after a lost answer makes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from services.runtime.settings import PaymentSettings


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str
    expires_at: datetime
    #: ``open``, ``complete`` or ``expired``.
    status: str
    paid: bool
    payment_intent: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class Notification:
    id: str
    type: str
    #: The event's object (a checkout session, a charge) as a plain dict.
    object: dict[str, Any]


class ProviderError(Exception):
    """The provider refused or could not be reached; nothing was changed on our side."""


def _checkout(found: stripe.checkout.Session) -> Checkout:
    session = found.to_dict()
    return Checkout(
        session_id=session["id"], url=session.get("url") or "", status=session["status"],
        expires_at=datetime.fromtimestamp(session["expires_at"], UTC), paid=session.get("payment_status") == "paid",
        payment_intent=_id(session.get("payment_intent")), metadata=dict(session.get("metadata") or {}))


def _id(value: Any) -> str | None:
    """An expandable field: an id, or the object it names."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


class Provider:
    def __init__(self, settings: PaymentSettings) -> None:
        self.settings = settings
        self._client = (
            stripe.StripeClient(settings.secret_key, base_addresses={"api": settings.api_url},
                                http_client=stripe.HTTPXClient(), max_network_retries=2)
            if settings.api_url else None
        )

    @property
    def online(self) -> bool:
        """Whether fees can be paid online here (a provider is configured)."""
        return self._client is not None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise ProviderError("no payment provider is configured")
        return self._client

    async def checkout(self, *, attempt: str, amount_yen: int, item: str, success_url: str, cancel_url: str,
                       metadata: dict[str, str], expires_at: datetime) -> Checkout:
        params: Any = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": "jpy", "unit_amount": amount_yen, "product_data": {"name": item}}}],
            "success_url": success_url, "cancel_url": cancel_url, "client_reference_id": metadata["application_id"],
            "metadata": metadata, "payment_intent_data": {"metadata": metadata},
            "expires_at": int(expires_at.timestamp()), "locale": "ja",
        }
        try:
            session = await self.client.v1.checkout.sessions.create_async(params=params, options={"idempotency_key": attempt})
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return _checkout(session)

    async def session(self, session_id: str) -> Checkout:
        try:
            return _checkout(await self.client.v1.checkout.sessions.retrieve_async(session_id))
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc

    async def expire(self, session_id: str) -> None:
        """Close an open page (the application was withdrawn); one already closed is left as it is."""
        try:
            await self.client.v1.checkout.sessions.expire_async(session_id)
        except stripe.InvalidRequestError:
            pass
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc

    async def charge_of(self, payment_intent: str) -> str | None:
        """The charge a payment made: the id the provider's settlement lists."""
        try:
            intent = await self.client.v1.payment_intents.retrieve_async(payment_intent)
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return _id(intent.to_dict().get("latest_charge"))

    async def refund(self, *, payment_intent: str, key: str, metadata: dict[str, str]) -> str:
        """The whole payment refunded; the refund's id. ``key`` makes a retry the same refund."""
        params: Any = {"payment_intent": payment_intent, "metadata": metadata}
        try:
            refund = await self.client.v1.refunds.create_async(params=params, options={"idempotency_key": key})
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return str(refund["id"])

    def verify(self, payload: str, signature: str) -> Notification:
        """The notification if its signature is the provider's (and recent); ValueError if not."""
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.settings.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise ValueError(str(exc)) from exc
        return Notification(id=event["id"], type=event["type"], object=event["data"]["object"].to_dict())
