"""Writing filings in batches: many submissions, one transaction.

A submission's own work (validation, receipt signature) runs in its request; the rows it writes
(:class:`Rows`) are handed to the filer, which writes whatever has queued up since its last commit in one
transaction, a multi-row INSERT per table, and then answers every waiting request. Under load the
queue fills while a batch commits, so a commit carries many filings; alone, a filing waits for
nobody. This is group commit at the application's level: a filing costs a few round trips shared
by its batch instead of eight of its own, which is what lets one town take hundreds a second.

If a batch hits a duplicate Idempotency-Key, it is rolled back and its filings are written one
by one, so only the duplicate fails (and is answered from the stored response).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.procedures.models import (
    Application,
    AttachmentRow,
    Base,
    IdempotencyRecord,
    OutboxRow,
    PaymentRow,
    ReferenceCounter,
    StatusChangeRow,
)
from services.procedures.references import format_reference
from services.runtime import rls
from services.runtime.background import Background

MAX_BATCH = 200
WRITERS = 2
#: Tables in the order a filing's rows are written (the application before what refers to it).
TABLES = (Application, PaymentRow, AttachmentRow, StatusChangeRow, OutboxRow, IdempotencyRecord)




@dataclass
class Rows:
    """A filing's rows, one list per table, each row its table's mapped object (written as its
    column values in the batch's multi-row INSERT; never added to a session)."""

    applications: list[Application] = field(default_factory=list)
    payments: list[PaymentRow] = field(default_factory=list)
    attachments: list[AttachmentRow] = field(default_factory=list)
    status_changes: list[StatusChangeRow] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    idempotency: list[IdempotencyRecord] = field(default_factory=list)

    def by_table(self) -> dict[type[Base], Sequence[Base]]:
        return {
            Application: self.applications, PaymentRow: self.payments, AttachmentRow: self.attachments,
            StatusChangeRow: self.status_changes, OutboxRow: self.outbox, IdempotencyRecord: self.idempotency,
        }


def columns(row: Base) -> dict[str, Any]:
    """A mapped object's column values, for a plain INSERT (read from the instance's own dict: the
    writer does this for every row of a batch). A primary key left unset (an autoincrement id) is
    left out, for the database to give; any other unset column is NULL."""
    values = row.__dict__
    keys, primary = _keys(type(row))
    return {key: values.get(key) for key in keys if key in values or key not in primary}


@cache
def _keys(table: type[Base]) -> tuple[tuple[str, ...], frozenset[str]]:
    return tuple(c.key for c in table.__table__.columns), frozenset(c.key for c in table.__table__.primary_key)


@dataclass
class Numbering:
    """A filing that takes the town's next reference (``references.py``)."""

    prefix: str
    year: int
    #: The filing's rows that carry its reference, made once the number is given.
    rows: Callable[[str], Rows]


@dataclass(eq=False)
class Filing:
    tenant: str
    rows: Rows
    numbering: Numbering | None = None
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


STOPPING = RuntimeError("the service is stopping")


def _answer(filing: Filing, failure: BaseException | None) -> None:
    """Tell whoever waits for ``filing`` how it went, unless they stopped waiting (a request the
    stopping service cancelled) or were told already."""
    if filing.done.done():
        return
    if failure is None:
        filing.done.set_result(None)
    else:
        filing.done.set_exception(failure)


class Filer(Background):
    name = "filer"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], committed: Callable[[str], None]) -> None:
        super().__init__()
        self._sessions = sessions
        self._committed = committed
        self._queue: asyncio.Queue[Filing] = asyncio.Queue()

    async def stop(self) -> None:
        await super().stop()
        while not self._queue.empty():
            _answer(self._queue.get_nowait(), STOPPING)

    async def file(self, filing: Filing) -> None:
        """Returns once the filing is committed; raises IntegrityError for a duplicate key."""
        await self._queue.put(filing)
        await filing.done

    async def _run(self) -> None:
        # Two writers: while one batch waits for its commit (the WAL flush), the next is written.
        await asyncio.gather(*(self._writer() for _ in range(WRITERS)))

    async def _writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write_batch(batch)
            except asyncio.CancelledError:
                # Stopped mid-batch: its transaction rolls back, and whoever waits hears it was not filed.
                for filing in batch:
                    _answer(filing, STOPPING)
                raise

    async def _write_batch(self, batch: Sequence[Filing]) -> None:
        try:
            await self._write(batch)
        except IntegrityError as exc:
            if len(batch) == 1:
                _answer(batch[0], exc)
                return
            for filing in batch:  # find the duplicate: the others still file
                await self._write_batch([filing])
            return
        except Exception as exc:  # the database is away: every waiting request hears it
            for filing in batch:
                _answer(filing, exc)
            return
        for filing in batch:
            _answer(filing, None)
        for town in {f.tenant for f in batch}:
            self._committed(town)

    async def _write(self, batch: Sequence[Filing]) -> None:
        ordered = sorted(batch, key=lambda f: f.tenant)
        async with self._sessions(info={rls.TENANT: ordered[0].tenant}) as session, session.begin():
            for town, filings in groupby(ordered, key=lambda f: f.tenant):
                group = list(filings)
                await rls.use_tenant(session, town)
                numbered = await _number(session, town, group)
                parts = [rows.by_table() for f, extra in zip(group, numbered) for rows in (f.rows, extra)]
                for table in TABLES:
                    values = [columns(row) for part in parts for row in part[table]]
                    if values:
                        await session.execute(insert(table), values)


async def _number(session: AsyncSession, town: str, group: Sequence[Filing]) -> list[Rows]:
    """Give each filing of ``town`` that asks for one the next reference, in the batch's order;
    its rows that carry it, per filing. The counter moves once per year in the batch, inside the
    batch's transaction: a batch rolled back gives its numbers back."""
    given = [Rows() for _ in group]
    wanting = [(i, f.numbering) for i, f in enumerate(group) if f.numbering is not None]
    for year in sorted({n.year for _, n in wanting}):
        these = [(i, n) for i, n in wanting if n.year == year]
        last = await _move_counter(session, town, year, len(these))
        for number, (i, n) in enumerate(these, start=last - len(these) + 1):
            given[i] = n.rows(format_reference(n.prefix, year, number))
    return given


async def _move_counter(session: AsyncSession, town: str, year: int, by: int) -> int:
    """The counter moved on by ``by``; its new value. The town's first filing of a year makes the
    row (another writer making it at the same moment is waited for, then moved on)."""
    move = (
        update(ReferenceCounter)
        .where(ReferenceCounter.tenant == town, ReferenceCounter.year == year)
        .values(last=ReferenceCounter.last + by)
        .returning(ReferenceCounter.last)
    )
    last = (await session.execute(move)).scalar_one_or_none()
    if last is None:
        dialect = session.get_bind().dialect.name
        upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ReferenceCounter)
        await session.execute(upsert.values(tenant=town, year=year, last=0).on_conflict_do_nothing())
        last = (await session.execute(move)).scalar_one()
    return last
