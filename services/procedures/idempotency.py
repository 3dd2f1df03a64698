"""``Idempotency-Key`` for submissions: a retry returns the first answer, never a second application.

The key and the response are stored in the same transaction as the application, so a filing and
its key commit together or not at all. While a request runs, its key is held in this process: a
duplicate arriving meanwhile gets 409 instead of doing the work twice. A later retry (or a
duplicate reaching another copy of the service) loses on the table's primary key, rolls back,
and is answered with the stored response: the common first submission costs no extra read.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.errors import ErrorCode, failure
from services.procedures.models import IdempotencyRecord

Claim = tuple[str, str, str]


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def stored_response(session: AsyncSession, tenant: str, principal: str, key: str, digest: str) -> bytes | None:
    """The response first given for this key, or None; 422 if the key came with another body."""
    record = (
        await session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.tenant == tenant, IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
            )
        )
    ).scalar_one_or_none()
    if record is None:
        return None
    if record.request_hash != digest:
        raise failure(
            ErrorCode.VALIDATION, "Idempotency key reused", "this Idempotency-Key was used with a different request body"
        )
    return record.response


def record(tenant: str, principal: str, key: str, digest: str, response: bytes) -> IdempotencyRecord:
    """The row to add in the work's own transaction."""
    return IdempotencyRecord(
        tenant=tenant, principal=principal, key=key, request_hash=digest, response=response,
        created_at=datetime.now(UTC),
    )


class Keys:
    def __init__(self) -> None:
        self._running: set[Claim] = set()

    @asynccontextmanager
    async def claim(self, tenant: str, principal: str, key: str) -> AsyncIterator[None]:
        """Hold ``key`` while this request works; a duplicate meanwhile gets 409."""
        claim = (tenant, principal, key)
        if claim in self._running:
            raise failure(ErrorCode.CONFLICT, "Request in progress", "a request with this Idempotency-Key is still running")
        self._running.add(claim)
        try:
            yield
        finally:
            self._running.discard(claim)
