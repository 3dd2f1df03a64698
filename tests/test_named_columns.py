"""A StrEnum column (``Named``) stores the wire value and reads back members; a value outside the
enum, as a newer copy may write during a rolling deploy, is read as its text instead of failing."""

from __future__ import annotations

from sqlalchemy import Integer, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.notifications import DeliveryStatus
from services.runtime.database import Named, create_engine


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "named_row"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[DeliveryStatus] = mapped_column(Named(DeliveryStatus, 20))


async def test_a_named_column_reads_members_and_tolerates_a_newer_value(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'named.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(insert(Row), [{"id": 1, "status": DeliveryStatus.DELIVERED}, {"id": 2, "status": "bounced-later"}])
            stored = (await conn.exec_driver_sql("SELECT status FROM named_row ORDER BY id")).scalars().all()
            read = (await conn.execute(select(Row.status).order_by(Row.id))).scalars().all()
        assert stored == ["delivered", "bounced-later"]
        assert read[0] is DeliveryStatus.DELIVERED and read[1] == "bounced-later"
    finally:
        await engine.dispose()
