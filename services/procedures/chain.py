"""Each town's status changes form an append-only hash chain.

A link's hash covers its content and the previous link's hash, so editing, deleting or reordering
any row in the database breaks every later link; ``verify`` finds the first broken one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.procedures.models import ChainHead, StatusChangeRow

GENESIS = "0" * 64


class ChainMoved(Exception):
    """Another transaction extended the town's chain first; retry the whole transaction."""


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def link_hash(row: StatusChangeRow, prev_hash: str) -> str:
    content = msgspec.json.encode(
        [
            row.tenant,
            row.seq,
            row.application_id,
            row.from_status,
            row.to_status,
            row.actor,
            row.actor_role,
            row.comment,
            utc(row.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            prev_hash,
        ]
    )
    return hashlib.sha256(content).hexdigest()


async def append(session: AsyncSession, row: StatusChangeRow) -> StatusChangeRow:
    """Put ``row`` at the end of its town's chain, inside the caller's transaction.

    The head is advanced with a compare-and-set on its sequence number: a concurrent writer that
    read the same head fails here and its whole transaction is retried by the caller.
    """
    head = (await session.execute(select(ChainHead).where(ChainHead.tenant == row.tenant))).scalar_one_or_none()
    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
    row.seq = seq + 1
    row.prev_hash = prev
    row.hash = link_hash(row, prev)
    if head is None:
        # Seeding creates every town's head, so this runs only for a town added since.
        session.add(ChainHead(tenant=row.tenant, seq=row.seq, hash=row.hash))
    else:
        moved = await session.execute(
            update(ChainHead)
            .where(ChainHead.tenant == row.tenant, ChainHead.seq == seq)
            .values(seq=row.seq, hash=row.hash)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise ChainMoved(row.tenant)
    session.add(row)
    return row


@dataclass(frozen=True)
class ChainReport:
    tenant: str
    links: int
    broken_at: int | None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def check(tenant: str, rows: Sequence[StatusChangeRow], head: ChainHead | None) -> ChainReport:
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainReport(tenant, len(rows), expected_seq, f"link {expected_seq} is missing")
        if row.prev_hash != prev:
            return ChainReport(tenant, len(rows), row.seq, "does not point at the link before it")
        if link_hash(row, prev) != row.hash:
            return ChainReport(tenant, len(rows), row.seq, "content does not match its hash")
        prev = row.hash
    if rows and (head is None or head.seq != rows[-1].seq or head.hash != prev):
        return ChainReport(tenant, len(rows), len(rows), "the chain's head does not match its last link")
    return ChainReport(tenant, len(rows), None)


async def verify(session: AsyncSession, tenant: str) -> ChainReport:
    rows = (
        await session.execute(select(StatusChangeRow).where(StatusChangeRow.tenant == tenant).order_by(StatusChangeRow.seq))
    ).scalars().all()
    head = (await session.execute(select(ChainHead).where(ChainHead.tenant == tenant))).scalar_one_or_none()
    return check(tenant, rows, head)
