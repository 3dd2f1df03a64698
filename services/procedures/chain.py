"""Each town's status changes form an append-only hash chain, sealed in batches.

A link's hash covers its content and the previous link's hash, so editing, deleting or reordering
any sealed row breaks every later link; ``verify`` finds the first broken one.

Requests only insert their change (unsealed: no ``seq`` yet). A sealer, one at a time per town
(the head row is locked), takes the unsealed changes in insertion order and links them. Keeping
the chain's head off the request path is what lets a town take hundreds of filings a second: a
head updated by every request would serialise them all on one row. A change waits for its seal
about as long as the outbox waits to publish (well under a second).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.procedures.models import ChainHead, StatusChangeRow
from services.runtime.database import utc
from services.runtime.town_worker import TownWorker

GENESIS = "0" * 64


def link_hash(row: StatusChangeRow, seq: int, prev_hash: str) -> str:
    """The link's content and the previous hash; the actor's name is covered where the link has
    one (links made before names were kept hash as they always did, so old chains still verify)."""
    content: list[object] = [
        row.tenant,
        seq,
        row.application_id,
        row.from_status,
        row.to_status,
        row.actor,
        row.actor_role,
        row.comment,
        utc(row.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        prev_hash,
    ]
    if row.actor_name is not None:
        content.append(row.actor_name)
    return hashlib.sha256(msgspec.json.encode(content)).hexdigest()


async def seal(session: AsyncSession, tenant: str, batch: int = 1000) -> int:
    """Link up to ``batch`` unsealed changes of ``tenant`` onto its chain; returns how many."""
    async with session.begin():
        head = (
            await session.execute(select(ChainHead).where(ChainHead.tenant == tenant).with_for_update())
        ).scalar_one_or_none()
        if head is None:
            head = ChainHead(tenant=tenant, seq=0, hash=GENESIS)
            session.add(head)
        rows = (
            await session.execute(
                select(StatusChangeRow)
                .where(StatusChangeRow.tenant == tenant, StatusChangeRow.seq.is_(None))
                .order_by(StatusChangeRow.id)
                .limit(batch)
            )
        ).scalars().all()
        seq, prev = head.seq, head.hash
        for row in rows:
            seq += 1
            row.seq, row.prev_hash = seq, prev
            row.hash = prev = link_hash(row, seq, prev)
        head.seq, head.hash = seq, prev
    return len(rows)


class Sealer(TownWorker):
    """Seals each town's new changes soon after they commit (woken by ``notify``, else polling)."""

    name = "chain sealer"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], towns: Sequence[str], poll_seconds: float = 1.0) -> None:
        super().__init__(towns, poll_seconds)
        self._sessions = sessions

    async def work(self, towns: Sequence[str] | None) -> None:
        for town in towns if towns is not None else self.towns or ():
            async with self._sessions(info={"tenant": town}) as session:  # row-level security: this town
                while await seal(session, town):
                    pass


@dataclass(frozen=True)
class ChainReport:
    tenant: str
    links: int
    broken_at: int | None
    reason: str = ""
    unsealed: int = 0

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def check(tenant: str, rows: Sequence[StatusChangeRow], head: tuple[int, str] | None, unsealed: int = 0) -> ChainReport:
    """``head`` is the stored head's (seq, hash), or None when the town has none."""
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainReport(tenant, len(rows), expected_seq, f"link {expected_seq} is missing", unsealed)
        if row.prev_hash != prev:
            return ChainReport(tenant, len(rows), expected_seq, "does not point at the link before it", unsealed)
        if link_hash(row, expected_seq, prev) != row.hash:
            return ChainReport(tenant, len(rows), expected_seq, "content does not match its hash", unsealed)
        prev = row.hash
    if (head or (0, GENESIS)) != (len(rows), prev):
        return ChainReport(tenant, len(rows), len(rows) + 1, "the chain's head does not match its last link", unsealed)
    return ChainReport(tenant, len(rows), None, "", unsealed)


async def _head(session: AsyncSession, tenant: str) -> tuple[int, str] | None:
    """The head's (seq, hash) as stored now. Plain values, not the mapped row: the identity map
    refreshes one object in place, so two reads of a moving head would compare equal."""
    query = select(ChainHead.seq, ChainHead.hash).where(ChainHead.tenant == tenant)
    row = (await session.execute(query)).one_or_none()
    return (row.seq, row.hash) if row else None


async def verify(session: AsyncSession, tenant: str, attempts: int = 5) -> ChainReport:
    """Check ``tenant``'s chain: every sealed link, and the head against the last one.

    Each statement sees the latest commits, so a sealer committing while the links are read would
    look like links beyond the head. The head is read before and after the links: only when it did
    not move are they one picture of the chain (else read again); links beyond a head that did not
    move were not sealed through it (a head deleted or set back).
    """
    for attempt in range(attempts):
        before = await _head(session, tenant)
        rows = (
            await session.execute(
                select(StatusChangeRow)
                .where(StatusChangeRow.tenant == tenant, StatusChangeRow.seq.is_not(None))
                .order_by(StatusChangeRow.seq)
                .execution_options(populate_existing=True)  # a session reused for checks sees edits
            )
        ).scalars().all()
        after = await _head(session, tenant)
        if before == after or attempt == attempts - 1:
            break
        await asyncio.sleep(0.05 * (attempt + 1))
    unsealed = (
        await session.execute(
            select(func.count())
            .select_from(StatusChangeRow)
            .where(StatusChangeRow.tenant == tenant, StatusChangeRow.seq.is_(None))
        )
    ).scalar_one()
    return check(tenant, rows, after, unsealed)
