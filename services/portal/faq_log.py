"""Questions the FAQ could not answer, counted per town for its staff.

No one's identity is kept. What a resident typed may still hold personal details, so digit runs
(phone, card or account numbers) and email addresses are masked before anything is stored.

The search is public, so anyone can type anything: a town keeps at most ``new_per_day`` new
questions a day (``AIZU_FAQ_NEW_PER_DAY``); past that, questions already on the list are still
counted and new ones are not kept, so a flood cannot bury what residents really ask.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.faq import UnansweredQuestion
from services.portal.models import UnansweredRow
from services.portal.search import analyse, normalise
from services.runtime.database import utc

_EMAIL = re.compile(r"\S+@\S+")
_DIGITS = re.compile(r"\d[\d\-‐ー－ ]{2,}\d|\d{3,}")
MASK = "＊"
log = logging.getLogger(__name__)


def mask(question: str) -> str:
    """Width folded, then email addresses and runs of three or more digits hidden."""
    text = " ".join(normalise(question).split())
    return _DIGITS.sub(MASK, _EMAIL.sub(MASK, text))


def grouping_key(masked: str) -> str:
    """Wordings of one question meet on their meaningful words: 「除雪車は来ますか」 and
    「除雪車、来ますか？」 count as one. A question with no such word is kept as typed."""
    words = sorted(set(analyse(masked).core))
    return " ".join(words)[:400] if words else masked[:400]


async def record(
    session: AsyncSession, tenant: str, question: str, *, new_per_day: int, now: datetime | None = None
) -> bool:
    """Count one unanswered question, in its own transaction; concurrent askers add up. False
    when it was new and the town's new questions of the last day are already at the limit."""
    masked = mask(question)[:200]
    if not masked:
        return False
    now = now or datetime.now(UTC)
    key = grouping_key(masked)
    limit = new_per_day
    known = await session.scalar(
        select(func.count()).select_from(UnansweredRow).where(UnansweredRow.tenant == tenant, UnansweredRow.normalised == key)
    )
    if not known:
        today = await session.scalar(
            select(func.count()).select_from(UnansweredRow)
            .where(UnansweredRow.tenant == tenant, UnansweredRow.first_seen > now - timedelta(days=1))
        )
        await session.rollback()  # end the reads' transaction: the write below opens its own
        if (today or 0) >= limit:
            log.warning("%s: %d new unanswered questions today; not keeping more", tenant, today)
            return False
    else:
        await session.rollback()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(UnansweredRow).values(
        tenant=tenant, normalised=key, question=masked, count=1, first_seen=now, last_seen=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=[UnansweredRow.tenant, UnansweredRow.normalised],
        set_={"count": UnansweredRow.count + 1, "last_seen": statement.excluded.last_seen},
    )
    async with session.begin():
        await session.execute(statement)
    return True


async def most_asked(session: AsyncSession, tenant: str, limit: int = 100) -> list[UnansweredQuestion]:
    """The town's unanswered questions, the most asked first, then the most recent."""
    rows = (
        await session.execute(
            select(UnansweredRow)
            .where(UnansweredRow.tenant == tenant)
            .order_by(UnansweredRow.count.desc(), UnansweredRow.last_seen.desc(), UnansweredRow.normalised)
            .limit(limit)
        )
    ).scalars().all()
    return [
        UnansweredQuestion(
            question=r.question,
            normalised=r.normalised,
            count=r.count,
            first_seen=utc(r.first_seen),
            last_seen=utc(r.last_seen),
        )
        for r in rows
    ]
