"""Messages of fee payment: paying online through the payment provider, at the counter in cash
or by card, refunds, the provider's signed notifications, and a town's daily reconciliation.

Amounts are whole yen. No card detail ever reaches the platform: residents pay on the provider's
own page, and what comes back is the provider's reference.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import msgspec

from contracts import text

#: A resident starts (or starts again) paying an application's fee online: :class:`StartPayment`.
PAY = "pay"
#: The resident is back from the provider's page: the payment is looked up there at once, so
#: the page need not wait for the provider's notification (:class:`ConfirmPayment`).
CONFIRM = "payment_confirm"
#: A caseworker records a payment (or its refund) made at the counter: :class:`CounterPayment`.
RECORD = "payment_record"
#: The provider's signed notification, as received (:class:`ProviderNotification`).
NOTIFICATION = "payment_notification"
#: A town's payments of one day, to match against the provider's settlement (:class:`Reconcile`).
RECONCILIATION = "reconciliation"


class PaymentState(StrEnum):
    """Where an application's fee stands."""

    #: Owed (online, or at the counter when the resident chose so).
    AWAITING_PAYMENT = "awaiting_payment"
    #: An online attempt ran out: still owed, payable again.
    EXPIRED = "expired"
    PAID = "paid"
    #: A paid application was rejected or withdrawn and its refund is under way (at the counter:
    #: to be handed back).
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    #: Never paid and no longer owed.
    CANCELLED = "cancelled"


class PaymentChoice(StrEnum):
    """How the resident chose to pay: on the provider's page, or at the town's counter."""

    ONLINE = "online"
    COUNTER = "counter"


class PaymentMethod(StrEnum):
    """How it was paid: through the provider, or in cash or by card at the counter."""

    ONLINE = "online"
    CASH = "cash"
    CARD = "card"


class CounterMethod(StrEnum):
    """How it was paid at the counter (a :class:`PaymentMethod` too)."""

    CASH = "cash"
    CARD = "card"


class LedgerKind(StrEnum):
    """Money in (a payment) or out (a refund)."""

    PAYMENT = "payment"
    REFUND = "refund"


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    """An application's fee and where its payment stands."""

    amount_yen: int
    state: PaymentState
    choice: PaymentChoice
    method: PaymentMethod | None = None
    paid_at: datetime | None = None
    refunded_at: datetime | None = None
    #: Whether it can be paid online here (a payment provider is configured).
    online: bool = False


class PaymentReturn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /api/v1/applications/{id}/payment``: a :class:`StartPayment` without the
    application's id, which is in the path. The origin is checked as the payment's (a 422 naming it)."""

    #: Where the provider's page sends the resident back: the portal's own origin
    #: (``https://kitakata.example.jp``), checked to be the town's.
    return_origin: str


class StartPayment(PaymentReturn, frozen=True, kw_only=True, forbid_unknown_fields=True):
    application_id: text.line(36, min_length=1)
    return_origin: text.line(200, min_length=8)


class PaymentPage(msgspec.Struct, frozen=True, kw_only=True):
    """The provider's page to pay on (the same one again while it is open)."""

    url: str
    expires_at: datetime


class ConfirmPayment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    application_id: text.line(36, min_length=1)


class CounterRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /api/v1/applications/{id}/counter-payment``: a :class:`CounterPayment`
    without the application's id, which is in the path."""

    method: CounterMethod
    #: ``payment`` (received at the desk) or ``refund`` (handed back at the desk).
    kind: LedgerKind = LedgerKind.PAYMENT


class CounterPayment(CounterRecord, frozen=True, kw_only=True, forbid_unknown_fields=True):
    application_id: text.line(36, min_length=1)


class ProviderNotification(msgspec.Struct, frozen=True, kw_only=True):
    """A webhook exactly as received: verified by the service with the provider's SDK."""

    payload: str
    signature: str


class Received(msgspec.Struct, frozen=True, kw_only=True):
    #: The provider's event id; ``duplicate`` when it had been handled before.
    event: str
    duplicate: bool = False


class Reconcile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: The day in Japan's time.
    day: date


class LedgerLine(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    reference: str | None
    application_id: str
    kind: LedgerKind
    method: PaymentMethod
    #: Negative for a refund.
    amount_yen: int
    #: The provider's charge or refund id (online); None at the counter.
    provider_reference: str | None


class Reconciliation(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    day: date
    lines: list[LedgerLine]
    #: Online lines only, what the provider's settlement for the day should show.
    online_total_yen: int
    counter_total_yen: int
    #: The same lines as CSV (UTF-8 with BOM, so a spreadsheet opens it in Japanese).
    csv: str


class PaymentSettled(msgspec.Struct, frozen=True, kw_only=True, tag="payment.settled"):
    """An application's fee was paid or refunded (the council's share paid online counts these)."""

    event_id: str
    tenant: str
    application_id: str
    kind: LedgerKind
    method: PaymentMethod
    amount_yen: int
    at: datetime
