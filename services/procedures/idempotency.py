"""``Idempotency-Key`` for submissions: a retry returns the first answer, never a second application.

The key is claimed in its own short transaction before the work starts, so a concurrent duplicate
finds it ``in_progress`` (409) instead of waiting; the work's transaction then stores the
response with the key. A claim whose request died is taken over after ``STALE_AFTER``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.errors import ErrorCode, failure
from services.procedures.chain import utc
from services.procedures.models import IdempotencyRecord

STALE_AFTER = timedelta(seconds=60)


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def claim(session: AsyncSession, tenant: str, principal: str, key: str, digest: str) -> bytes | None:
    """Claim ``key``: None to go ahead, or the stored response of the request that used it first."""
    now = datetime.now(UTC)
    try:
        async with session.begin():
            session.add(
                IdempotencyRecord(
                    tenant=tenant, principal=principal, key=key, request_hash=digest, state="in_progress", created_at=now
                )
            )
        return None
    except IntegrityError:
        await session.rollback()
    async with session.begin():
        record = (
            await session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.tenant == tenant,
                    IdempotencyRecord.principal == principal,
                    IdempotencyRecord.key == key,
                )
            )
        ).scalar_one()
        if record.request_hash != digest:
            raise failure(
                ErrorCode.VALIDATION,
                "Idempotency key reused",
                "this Idempotency-Key was used with a different request body",
            )
        if record.state == "done" and record.response is not None:
            return record.response
        if now - utc(record.created_at) < STALE_AFTER:
            raise failure(ErrorCode.CONFLICT, "Request in progress", "a request with this Idempotency-Key is still running")
        record.created_at = now  # take over an abandoned claim
    return None


async def complete(session: AsyncSession, tenant: str, principal: str, key: str, response: bytes) -> None:
    """Store the response with the key; call inside the work's own transaction."""
    await session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.tenant == tenant, IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
        .values(state="done", response=response)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, tenant: str, principal: str, key: str) -> None:
    """The work failed and wrote nothing: free the key so a corrected request may use it."""
    async with session.begin():
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.tenant == tenant,
                IdempotencyRecord.principal == principal,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == "in_progress",
            )
        )
