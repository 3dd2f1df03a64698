"""Tables of the notifications service. Every row carries its tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.notifications import DeliveryStatus, OutboundChannel
from services.runtime.database import NAMING_CONVENTION, Named
from services.runtime.outbox import OutboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InboxRow(Base):
    """A message in a resident's inbox, rendered once from the town's template when it arrived."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        Index("ix_inbox_messages_recipient", "tenant", "recipient", "created_at"),
        # One message per event and recipient: a second line behind ``processed_events``.
        UniqueConstraint("tenant", "event_id", "recipient", name="uq_inbox_messages_event"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    #: The resident's subject (the ``sub`` of their token).
    recipient: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(36))
    application_id: Mapped[str | None] = mapped_column(String(36))
    title_ja: Mapped[str] = mapped_column(String(400))
    body_ja: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(400))
    body_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PreferenceRow(Base):
    """How a resident wants to be reached in one town; no row: the inbox alone."""

    __tablename__ = "preferences"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Channels in fallback order, comma-separated (``inbox`` always first).
    channels: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TemplateRow(Base):
    """A town's own template for one kind of message; without one the regional default is used."""

    __tablename__ = "templates"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    title_ja: Mapped[str] = mapped_column(String(200))
    body_ja: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(200))
    body_en: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryRow(Base):
    """One inbox message sent on one outbound channel; the sender drains the due ones."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "tenant", "status", "next_attempt_at"),
        Index("ix_deliveries_message", "tenant", "message_id"),
        Index("ix_deliveries_channel_due", "tenant", "channel", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(36))
    channel: Mapped[OutboundChannel] = mapped_column(Named(OutboundChannel, 16))
    address: Mapped[str] = mapped_column(String(254))
    status: Mapped[DeliveryStatus] = mapped_column(Named(DeliveryStatus, 20))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: When the sender may try (again); None once delivered or given up.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base):
    """An event already turned into messages: a redelivered or re-published copy makes none."""

    __tablename__ = "processed_events"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PushSubscriptionRow(Base):
    """A resident's browser that accepts web push (RFC 8030), with its message encryption keys (RFC 8291)."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (UniqueConstraint("tenant", "subject", "endpoint", name="uq_push_subscriptions_endpoint"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(1000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookRow(Base):
    """A town's integration (e.g. its LINE bridge) that receives its residents' messages, signed."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str] = mapped_column(String(200))
    #: ``whsec_`` + base64 of the key; shown once when created.
    secret: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(OutboxMixin, Base):
    """Delivery outcomes and dead letters, committed with the delivery's last state (see runtime/outbox)."""
