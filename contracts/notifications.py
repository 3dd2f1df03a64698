"""Messages of notifications: the resident's inbox and channel preferences, towns' templates, deliveries.

A resident's inbox always receives; the other channels (email now; web push and webhooks later)
are tried in the order the resident listed them. Templates are per town and message kind, in
Japanese and English, with placeholders such as ``{procedure_name}`` checked when saved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

# Verbs of the notifications service (aizu.<tenant>.notifications.<verb>).
INBOX = "inbox"
READ = "read"
PREFERENCES = "preferences"
SET_PREFERENCES = "set_preferences"
TEMPLATES = "templates"
PUT_TEMPLATE = "put_template"
DELIVERIES = "deliveries"

#: A channel a resident can be reached by. The inbox is always on; the others follow in order.
Channel = Literal["inbox", "email"]
#: A kind of message, named like the event that causes it.
Kind = Literal["application.submitted", "application.status_changed"]
DeliveryStatus = Literal["created", "sending", "delivered", "temporary-failure", "permanent-failure"]

EmailAddress = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


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

    channels: Annotated[list[Channel], msgspec.Meta(max_length=4)] = msgspec.field(default_factory=lambda: ["inbox"])
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


class PutTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A town's template for one kind. ``kind`` is a plain string so that an unknown one is named."""

    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    title_ja: Title
    body_ja: Body
    title_en: Title
    body_en: Body


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One message on one outbound channel, and how far it got."""

    id: str
    message_id: str
    channel: Literal["email"]
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
