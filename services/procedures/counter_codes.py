"""Counter codes: how a filing made at the desk reaches the resident's own portal.

A caseworker never types an account: an account id names anyone in any town, and a filing linked
to it would show in that person's applications and inbox. Instead the resident, signed in on
their phone, asks their own town for a code and shows it at the desk; the caseworker enters it,
and the service looks it up among this town's codes. A code of another town, an expired one or a
mistyped one links nothing and says so by name. The link itself is recorded in the filing's
first, hash-chained history entry.

Eight digits, valid for :data:`LIFETIME` (several filings at one visit may use it). Stored as a
hash keyed by the town: a code is a short-lived key to an account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import applications as msg
from contracts.errors import ErrorCode, FieldError, failure
from services.procedures.models import CounterCodeRow
from services.runtime.service import Context, ServiceApp

LIFETIME = timedelta(minutes=30)
FIELD = "$.counter_applicant.link_code"
#: The history's words for a filing linked by the resident's code (hash-chained with the filing).
LINKED = "本人が示した窓口用番号で、本人のアカウントに紐付けて受け付けました。"


def _digest(tenant: str, code: str) -> str:
    digits = code.replace("-", "")
    return hashlib.sha256(f"{tenant}:{digits}".encode()).hexdigest()


async def issue(ctx: Context, req: msg.IssueCounterCode) -> msg.CounterCode:
    """A resident of this town asks for a code; expired codes of the town are cleared on the way."""
    principal = ctx.principal
    if not principal.has_role("resident") or principal.tenant != ctx.tenant:
        raise failure(ErrorCode.FORBIDDEN, "Your own town's residents only",
                      "a counter code is asked for in the town you are a resident of")
    now = datetime.now(UTC)
    session = ctx.session
    for _ in range(5):  # eight digits: a clash with a live code of the town is rare, and retried
        digits = f"{secrets.randbelow(10**8):08d}"
        try:
            async with session.begin():
                await session.execute(delete(CounterCodeRow).where(
                    CounterCodeRow.tenant == ctx.tenant, CounterCodeRow.expires_at < now))
                session.add(CounterCodeRow(tenant=ctx.tenant, digest=_digest(ctx.tenant, digits),
                                           subject=principal.subject, expires_at=now + LIFETIME))
        except IntegrityError:
            continue
        return msg.CounterCode(code=f"{digits[:4]}-{digits[4:]}", expires_at=now + LIFETIME)
    raise failure(ErrorCode.UNAVAILABLE, "No code free", "try again in a moment")


async def resolve(session: AsyncSession, tenant: str, code: str) -> str:
    """The account a live code of ``tenant`` stands for; a problem naming the field otherwise."""
    subject = (await session.execute(
        select(CounterCodeRow.subject).where(
            CounterCodeRow.tenant == tenant, CounterCodeRow.digest == _digest(tenant, code),
            CounterCodeRow.expires_at > datetime.now(UTC))
    )).scalar_one_or_none()
    if subject is None:
        raise failure(ErrorCode.VALIDATION, "Unknown counter code", "no live counter code of this town has these digits", [
            FieldError(field=FIELD,
                       message_ja="この番号は見つからないか、有効期限（30分）が切れています。ご本人の画面の番号をもう一度確かめてください。",
                       message_en="No such code, or it has expired (codes last 30 minutes). Check the number on the resident's screen."),
        ])
    return subject


def register(app: ServiceApp) -> None:
    app.endpoint(msg.COUNTER_CODE, msg.IssueCounterCode)(issue)
