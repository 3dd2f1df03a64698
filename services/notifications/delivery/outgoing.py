"""What the sender hands a channel (one claimed delivery) and what the channel says back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.notifications import DeliveryStatus, OutboundChannel


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
    #: What the channel needs beyond the address: a push subscription's endpoint and keys, a
    #: webhook's URL and secret (loaded when claimed; None when it is gone).
    target: dict[str, Any] | None = field(default=None, compare=False)

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
