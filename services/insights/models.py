"""Tables of the insights service: non-personal facts only (no names, no subjects, no answers).

Every row carries its tenant and is under row-level security like every other service's table;
figures across towns are read town by town.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.database import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApplicationFact(Base):
    """What the figures need of one application, merged from its events in whatever order they come."""

    __tablename__ = "application_facts"
    __table_args__ = (Index("ix_application_facts_submitted", "tenant", "submitted_at"),)

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The procedures service's id: joins an application's events, names nobody.
    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[date | None] = mapped_column(Date)
    #: The town's standard processing days for the procedure, as configured when the event came.
    standard_days: Mapped[int | None] = mapped_column(Integer)
    #: The first finished status and when it was reached.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_status: Mapped[str | None] = mapped_column(String(20))
    #: Filed at the counter, or a step needed the resident at the counter.
    counter_visit: Mapped[bool] = mapped_column(Boolean)
    #: Online filings: whether the applicant was verified with a My Number Card; None: not known.
    card_verified: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryFact(Base):
    """How one outbound delivery ended (delivered or given up), without its address."""

    __tablename__ = "delivery_facts"
    __table_args__ = (Index("ix_delivery_facts_occurred", "tenant", "occurred_at"),)

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PaymentFact(Base):
    """How one application's fee was paid: online or at the counter (cash or card), and when.
    No amount, no name: the council's figure is the share paid online."""

    __tablename__ = "payment_facts"
    __table_args__ = (Index("ix_payment_facts_paid", "tenant", "paid_at"),)

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    online: Mapped[bool] = mapped_column(Boolean)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base):
    """An event already counted: a redelivered or re-published copy counts nothing."""

    __tablename__ = "processed_events"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
