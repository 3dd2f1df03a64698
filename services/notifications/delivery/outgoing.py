"""What the sender hands a channel (one claimed delivery) and what the channel says back."""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.notifications import DeliveryStatus, OutboundChannel


@dataclass(frozen=True, slots=True)
class Subscription:
    """One browser's push subscription (``PushSubscriptionRow``)."""

    id: str
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class PushTarget:
    """Every browser the resident subscribed: a push delivery is addressed to the resident."""

    subscriptions: tuple[Subscription, ...]


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """The town's webhook a delivery is addressed to (``WebhookRow``)."""

    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    delivery_id: str
    tenant: str
    address: str
    attempts: int
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    channel: OutboundChannel = OutboundChannel.EMAIL
    message_id: str = ""
    kind: str = ""
    recipient: str = ""
    #: What the channel needs beyond the address (an email needs none), loaded when claimed;
    #: None when it is gone.
    target: PushTarget | WebhookTarget | None = field(default=None, compare=False)

    def outcome(self, status: DeliveryStatus, error: str | None = None, gone: tuple[str, ...] = ()) -> "Outcome":
        return Outcome(self.delivery_id, self.tenant, self.attempts, status, error, gone)


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery_id: str
    tenant: str
    attempts: int
    #: Delivered, or a temporary or permanent failure.
    status: DeliveryStatus
    error: str | None = None
    #: Push subscriptions the push service no longer knows (to remove).
    gone: tuple[str, ...] = ()
    #: Failed every attempt (a dead letter).
    gave_up: bool = False
