"""Tables of the procedures service. Every row carries its tenant."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.applications import Channel, Status
from contracts.payments import LedgerKind, PaymentChoice, PaymentMethod, PaymentState
from services.runtime.database import NAMING_CONVENTION, Named
from services.runtime.outbox import OutboxMixin


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OfferedProcedure(Base):
    """A standard procedure as one town offers it, with the town's overrides applied.

    The API shapes are stored pre-encoded: the catalog changes only when configuration does,
    and is read on every page, so a read is one indexed query and no re-serialisation.
    """

    __tablename__ = "offered_procedures"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    summary_json: Mapped[bytes] = mapped_column(LargeBinary)
    detail_json: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_tenant_status", "tenant", "status"),
        Index("ix_applications_tenant_applicant", "tenant", "applicant_subject"),
        UniqueConstraint("tenant", "reference", name="uq_applications_tenant_reference"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    #: What people read and say (受付番号, ``KTK-2026-000123-4``); None on filings from before.
    reference: Mapped[str | None] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(48))
    channel: Mapped[Channel] = mapped_column(Named(Channel, 16))
    status: Mapped[Status] = mapped_column(Named(Status, 16))
    applicant_subject: Mapped[str | None] = mapped_column(String(64))
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_address: Mapped[str | None] = mapped_column(String(200))
    applicant_birthdate: Mapped[str | None] = mapped_column(String(10))
    filed_by: Mapped[str | None] = mapped_column(String(64))
    answers_json: Mapped[bytes] = mapped_column(LargeBinary)
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    due_on: Mapped[date | None] = mapped_column(Date)
    #: Whole yen, fixed at filing (``fees.fee``).
    fee_yen: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    #: Where the fee's payment stands (``PaymentRow.state``, kept here for the queue's lists).
    payment_state: Mapped[PaymentState | None] = mapped_column(Named(PaymentState, 16))
    #: The signed receipt given at submission (compact JWS), so it can be shown again.
    receipt: Mapped[str | None] = mapped_column(Text)
    #: The document issued at ``issued`` (電子交付), signed by the town (compact JWS).
    document: Mapped[str | None] = mapped_column(Text)
    #: Where a report (a ``located`` procedure) is; null for every other application.
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    address_string: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StatusChangeRow(Base):
    """One link of a town's append-only hash chain of status changes (unsealed while ``seq`` is None)."""

    __tablename__ = "status_changes"
    __table_args__ = (
        UniqueConstraint("tenant", "seq", name="uq_status_changes_tenant_seq"),
        Index("ix_status_changes_application", "application_id"),
        Index("ix_status_changes_unsealed", "tenant", "seq", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int | None] = mapped_column(Integer)
    application_id: Mapped[str] = mapped_column(String(36))
    from_status: Mapped[Status | None] = mapped_column(Named(Status, 16))
    to_status: Mapped[Status] = mapped_column(Named(Status, 16))
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    #: The actor's name as it was at the time (None on links made before names were kept).
    actor_name: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class ChainHead(Base):
    """The last link of each town's chain; updated conditionally so two writers cannot fork it."""

    __tablename__ = "chain_heads"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AttachmentRow(Base):
    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_application", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[str] = mapped_column(String(36))
    field: Mapped[str] = mapped_column(String(48))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(OutboxMixin, Base):
    """Events written in the same transaction as the change; the relay publishes them to JetStream."""


class SigningKey(Base):
    """A town's receipt and document signing key; the private half is encrypted at rest."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32), index=True)
    public_jwk: Mapped[str] = mapped_column(Text)
    private_jwk_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean)


class CounterCodeRow(Base):
    """A code a resident asked for to show at the counter; kept as a hash (a short-lived key)."""

    __tablename__ = "counter_codes"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ReferenceCounter(Base):
    """The last reference number given in a town in a year (Japan's calendar year)."""

    __tablename__ = "reference_counters"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class PaymentRow(Base):
    """An application's fee: owed, paid, refunded."""

    __tablename__ = "payments"

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    amount_yen: Mapped[int] = mapped_column(Integer)
    state: Mapped[PaymentState] = mapped_column(Named(PaymentState, 16))
    #: How the resident chose to pay.
    choice: Mapped[PaymentChoice] = mapped_column(Named(PaymentChoice, 8))
    #: How it was paid.
    method: Mapped[PaymentMethod | None] = mapped_column(Named(PaymentMethod, 8))
    #: The provider's payment and charge for an online payment, and its refund.
    payment_intent: Mapped[str | None] = mapped_column(String(64))
    charge: Mapped[str | None] = mapped_column(String(64))
    refund: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PaymentAttemptRow(Base):
    """One visit to the provider's page (a checkout session): open, complete or expired."""

    __tablename__ = "payment_attempts"
    __table_args__ = (Index("ix_payment_attempts_application", "tenant", "application_id"),)

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[str] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerRow(Base):
    """Money in (a payment) or out (a refund), online or at the counter: one ledger for both."""

    __tablename__ = "payment_ledger"
    __table_args__ = (
        # One payment and at most one refund per application: a repeated notification adds nothing.
        UniqueConstraint("tenant", "application_id", "kind", name="uq_payment_ledger_application_kind"),
        Index("ix_payment_ledger_tenant_at", "tenant", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[str] = mapped_column(String(36))
    reference: Mapped[str | None] = mapped_column(String(24))
    kind: Mapped[LedgerKind] = mapped_column(Named(LedgerKind, 8))
    method: Mapped[PaymentMethod] = mapped_column(Named(PaymentMethod, 8))
    #: Negative for a refund.
    amount_yen: Mapped[int] = mapped_column(Integer)
    provider_reference: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProviderEventRow(Base):
    """A provider notification handled: its id, so a repeated or replayed one changes nothing."""

    __tablename__ = "provider_events"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
