"""Messages of notifications: the resident's inbox and channel preferences, towns' templates, deliveries.

A resident's inbox always receives; the other channels (email now; web push and webhooks later)
are tried in the order the resident listed them. Templates are per town and message kind, in
Japanese and English, with placeholders such as ``{procedure_name}`` checked when saved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from contracts import text

# Verbs of the notifications service (aizu.<tenant>.notifications.<verb>).
INBOX = "inbox"
READ = "read"
PREFERENCES = "preferences"
SET_PREFERENCES = "set_preferences"
TEMPLATES = "templates"
PUT_TEMPLATE = "put_template"
DELIVERIES = "deliveries"
PUSH_KEY = "push_key"
PUT_PUSH_SUBSCRIPTION = "put_push_subscription"
DELETE_PUSH_SUBSCRIPTION = "delete_push_subscription"
WEBHOOKS = "webhooks"
ADD_WEBHOOK = "add_webhook"
DELETE_WEBHOOK = "delete_webhook"
DEAD_LETTERS = "dead_letters"


class Channel(StrEnum):
    """A channel a resident can be reached by. The inbox is always on; the others follow in order."""

    INBOX = "inbox"
    EMAIL = "email"
    PUSH = "push"
    WEBHOOK = "webhook"


class OutboundChannel(StrEnum):
    """The channels a delivery goes out on (the inbox needs none)."""

    EMAIL = "email"
    PUSH = "push"
    WEBHOOK = "webhook"


#: A kind of message, named like the event that causes it.
Kind = Literal[
    "application.submitted", "application.status_changed",
    # Broadcasts of the town or the council, and push-type notices (contracts/broadcasts.py).
    "broadcast.announcement", "broadcast.emergency", "notice",
]


class DeliveryStatus(StrEnum):
    """How far a delivery got."""

    CREATED = "created"
    #: Claimed by a sender (claimed again once its lease runs out).
    SENDING = "sending"
    DELIVERED = "delivered"
    #: Tried again later (a permanent failure after the last attempt).
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"


EmailAddress = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
]
Title = text.line(200, min_length=1)
Body = text.paragraph(4000, min_length=1)


class InboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: Kind
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    #: The application the message is about, if any.
    application_id: str | None
    created_at: datetime
    read_at: datetime | None


class InboxList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[InboxMessage]
    #: Unread messages in the whole inbox (not only in ``items``).
    unread: int


class ListInbox(msgspec.Struct, frozen=True, kw_only=True):
    unread_only: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


class MarkRead(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]


class GetPreferences(msgspec.Struct, frozen=True, kw_only=True):
    pass


class Preferences(msgspec.Struct, frozen=True, kw_only=True):
    """How a resident wants to be reached in this town.

    ``channels`` in fallback order; the inbox is always on and always listed (added when left
    out). ``email`` is needed when ``email`` is among the channels.
    """

    channels: Annotated[list[Channel], msgspec.Meta(max_length=4)] = msgspec.field(default_factory=lambda: [Channel.INBOX])
    email: EmailAddress | None = None


class Template(msgspec.Struct, frozen=True, kw_only=True):
    kind: Kind
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    #: ``town``: the town's own; ``default``: the regional default, used while the town has none.
    source: Literal["town", "default"]
    #: The placeholders this kind knows, and those its bodies must contain.
    placeholders: list[str]
    required: list[str]
    updated_at: datetime | None = None


class TemplateList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Template]


class ListTemplates(msgspec.Struct, frozen=True, kw_only=True):
    pass


class TemplateText(msgspec.Struct, frozen=True, kw_only=True):
    """The body of ``PUT /api/v1/templates/{kind}``: a :class:`PutTemplate` without the kind."""

    title_ja: Title
    body_ja: Body
    title_en: Title
    body_en: Body


class PutTemplate(TemplateText, frozen=True, kw_only=True):
    """A town's template for one kind. ``kind`` is a plain string so that an unknown one is named."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One message on one outbound channel, and how far it got."""

    id: str
    message_id: str
    channel: OutboundChannel
    #: The email address; for push the subscription's id; for webhook the town's webhook id.
    address: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeliveryList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Delivery]


class ListDeliveries(msgspec.Struct, frozen=True, kw_only=True):
    status: DeliveryStatus | None = None
    message_id: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


# Events, published to aizu.evt.<tenant>.delivery.finished with Nats-Msg-Id = event_id.


class Outcome(StrEnum):
    """How a delivery ended: reached the resident, or gave up on this channel (bad address, gone
    subscription, or every attempt failed)."""

    DELIVERED = "delivered"
    PERMANENT_FAILURE = "permanent-failure"


class DeliveryFinished(msgspec.Struct, frozen=True, kw_only=True, tag="delivery.finished"):
    event_id: str
    tenant: str
    delivery_id: str
    channel: str
    outcome: Outcome
    #: The kind of the message delivered (``application.status_changed``, a broadcast's kind, ...).
    kind: str
    occurred_at: datetime


# Web push (RFC 8030 / 8291 / 8292): the deployment's VAPID key and residents' subscriptions.

Base64Url = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+=*$")]
#: The service also checks the host against the known push services (no requests to anywhere else).
HttpsUrl = Annotated[str, msgspec.Meta(min_length=12, max_length=1000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")]


class GetPushKey(msgspec.Struct, frozen=True, kw_only=True):
    pass


class PushKey(msgspec.Struct, frozen=True, kw_only=True):
    #: The VAPID public key (uncompressed P-256 point, base64url), the browser's applicationServerKey.
    public_key: str


class PushKeys(msgspec.Struct, frozen=True, kw_only=True):
    p256dh: Base64Url
    auth: Base64Url


class PushSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """As the browser's ``PushSubscription.toJSON()`` gives it."""

    endpoint: HttpsUrl
    keys: PushKeys


class RemovePushSubscription(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: HttpsUrl


class PushSubscriptionSaved(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    endpoint: str
    created_at: datetime


# Webhooks: a town's integrations (e.g. its LINE bridge), signed as Standard Webhooks are.

WebhookUrl = Annotated[str, msgspec.Meta(min_length=10, max_length=1000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")]


class AddWebhook(msgspec.Struct, frozen=True, kw_only=True):
    url: WebhookUrl
    description: text.line(200, min_length=1)


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    url: str
    description: str
    created_at: datetime
    created_by: str


class WebhookCreated(msgspec.Struct, frozen=True, kw_only=True):
    webhook: Webhook
    #: The signing secret (``whsec_`` + base64), shown this once only.
    secret: str


class ListWebhooks(msgspec.Struct, frozen=True, kw_only=True):
    pass


class WebhookList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Webhook]


class DeleteWebhook(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]


class Removed(msgspec.Struct, frozen=True, kw_only=True):
    removed: bool


class WebhookMessage(msgspec.Struct, frozen=True, kw_only=True):
    """The body POSTed to a town's webhook: the message for one resident, who the bridge maps."""

    type: Literal["message"] = "message"
    delivery_id: str
    tenant: str
    recipient: str
    kind: str
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str


# Dead letters: what failed every attempt, on aizu.dlq.<tenant>.notifications.<source>.

class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    tenant: str
    #: ``delivery``: a delivery that failed every attempt; ``event``: an event the service could not handle.
    source: Literal["delivery", "event"]
    reason: str
    attempts: int
    occurred_at: datetime
    delivery_id: str | None = None
    channel: str | None = None
    message_id: str | None = None
    #: The event's subject and JSON text (``event`` only).
    event_subject: str | None = None
    event: str | None = None


class ListDeadLetters(msgspec.Struct, frozen=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class DeadLetterList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[DeadLetter]
