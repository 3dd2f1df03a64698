"""Tables of the residents directory, broadcasts, their fan-out and push-type notice rules.

Kept apart from ``models.py`` (the inbox and its channels) but on the same declarative base, in
the same database, under the same row-level security by tenant (migration 0004).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from contracts.broadcasts import BroadcastKind, Target
from services.notifications.models import Base
from services.runtime.database import Named
from services.runtime.outbox import OutboxMixin


class ResidentRow(Base):
    """A resident the town can reach, as imported from the town's resident register.

    Nobody signs up here: the town's import (``aizu seed residents`` stands in for it in
    development and benchmarks) writes the row, with the attributes push-type rules select on.
    ``id`` orders the fan-out: a broadcast goes through a town's residents in ``id`` order, with
    the last ``id`` done committed as its cursor.
    """

    __tablename__ = "residents"
    __table_args__ = (
        UniqueConstraint("tenant", "subject", name="uq_residents_subject"),
        Index("ix_residents_tenant_id", "tenant", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(32))
    #: The ``sub`` of the resident's token: the inbox's recipient.
    subject: Mapped[str] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64))
    birthdate: Mapped[date | None] = mapped_column(Date)
    #: The youngest child's birth date in the resident's household (from the register).
    youngest_child_born: Mapped[date | None] = mapped_column(Date)
    #: Consented to push-type notices (プッシュ型通知への同意).
    push_consent: Mapped[bool] = mapped_column(Boolean)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BroadcastRow(Base):
    """An announcement or emergency alert of a town, or of the council (``tenant = "council"``)."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        Index("ix_broadcasts_created", "tenant", "created_at"),
        Index("ix_broadcasts_alerts", "tenant", "kind", "released_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    kind: Mapped[BroadcastKind] = mapped_column(Named(BroadcastKind, 16))
    target: Mapped[Target] = mapped_column(Named(Target, 16))
    #: Comma-separated district names (``target = "districts"``), else empty.
    districts: Mapped[str] = mapped_column(Text)
    title_ja: Mapped[str] = mapped_column(String(400))
    body_ja: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(400))
    body_en: Mapped[str] = mapped_column(Text)
    needs_approval: Mapped[bool] = mapped_column(Boolean)
    author: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When the fan-out work was committed (None: waiting for approval).
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: An emergency's banner shows until then (None: ``ALERT_HOURS`` after release).
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The alert this one corrects or cancels (a new version of it, approved by four eyes).
    corrects: Mapped[str | None] = mapped_column(String(36))
    cancels: Mapped[str | None] = mapped_column(String(36))
    #: The released correction or cancellation that ended this alert.
    replaced_by: Mapped[str | None] = mapped_column(String(36))
    #: Residents targeted when it was approved (or released at once).
    recipients: Mapped[int | None] = mapped_column(Integer)
    #: The approver's reason to send it with nobody to receive it.
    zero_recipients_reason: Mapped[str] = mapped_column(Text, default="")
    #: When the alarm went out that it had not reached every town's inboxes in time.
    alarm_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FanoutRow(Base):
    """One town's progress through one broadcast (or notice run): the committed cursor."""

    __tablename__ = "broadcast_fanouts"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    broadcast_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32))
    #: The last resident ``id`` whose messages are committed.
    cursor: Mapped[int] = mapped_column(Integer)
    residents: Mapped[int] = mapped_column(Integer)
    inbox: Mapped[int] = mapped_column(Integer)
    deliveries: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NoticeRuleRow(Base):
    __tablename__ = "notice_rules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    #: The rule's ``Criteria`` as JSON.
    criteria: Mapped[str] = mapped_column(Text)
    title_ja: Mapped[str] = mapped_column(String(400))
    body_ja: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(400))
    body_en: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NoticeRunRow(Base):
    __tablename__ = "notice_runs"
    __table_args__ = (Index("ix_notice_runs_rule", "tenant", "rule_id", "run_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(36))
    run_by: Mapped[str] = mapped_column(String(64))
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    matched: Mapped[int] = mapped_column(Integer)
    notified: Mapped[int] = mapped_column(Integer)


class BroadcastOutbox(OutboxMixin, Base):
    """Released broadcasts' work items, committed with the release and relayed to JetStream."""

    __tablename__ = "broadcast_outbox"
    __table_args__ = (Index("ix_broadcast_outbox_unpublished", "published_at", "created_at"),)
