"""Tables of the procedures service. Every row carries its tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


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
