"""Tables of the portal service. Every row carries its tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.database import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UnansweredRow(Base):
    """A question the FAQ had no good answer for, counted per town: for staff to write answers.
    Who asked is never stored."""

    __tablename__ = "faq_unanswered"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The question's meaningful words, sorted: how different wordings of one question meet.
    normalised: Mapped[str] = mapped_column(String(400), primary_key=True)
    #: The wording first seen (digit runs and email addresses masked).
    question: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
