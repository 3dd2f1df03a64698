"""The FAQ on the bus: ``faq_search`` for anyone, ``faq_unanswered`` for the town's staff.

Pages in this service call :func:`answer` directly with their request context; other clients go
through the gateway (``GET /api/v1/faq``) to the same function.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contracts import faq as msg
from contracts import headers as h
from contracts.errors import ErrorCode, FieldError, ServiceFailure, failure
from services.portal import faq_log
from services.portal.faq_base import FaqBase
from services.runtime.service import Context, ServiceApp

def bad_question(reason_ja: str, reason_en: str) -> ServiceFailure:
    return failure(
        ErrorCode.BAD_REQUEST,
        "Invalid question",
        reason_en,
        [FieldError(field="q", message_ja=reason_ja, message_en=reason_en)],
    )


def checked(question: str) -> str:
    """The question as searched, or a refusal naming ``q``."""
    question = question.strip()
    if not question:
        raise bad_question("質問を入力してください。", "Please type a question.")
    if len(question) > msg.MAX_QUESTION_CHARS:
        raise bad_question(
            f"質問は{msg.MAX_QUESTION_CHARS}文字以内で入力してください。",
            f"Please keep the question to {msg.MAX_QUESTION_CHARS} characters.",
        )
    return question


async def answer(ctx: Context, base: FaqBase, question: str, new_per_day: int, limit: int = 5) -> msg.FaqResults:
    """The best answers in the town of ``ctx``; a question without a good one is logged for staff."""
    question = checked(question)
    if ctx.tenant in base.towns and not base.indexed(ctx.tenant):
        # A town's first question builds its index (~0.2 s): off the event loop.
        await asyncio.to_thread(base.index, ctx.tenant)
    try:
        hits, answered = base.search(ctx.tenant, question, limit)
    except KeyError as exc:
        raise failure(ErrorCode.NOT_FOUND, "No such town", f"there is no FAQ for {ctx.tenant}") from exc
    if not answered and ctx.headers.get(h.LOG_UNANSWERED) != "0":
        await faq_log.record(ctx.session, ctx.tenant, question, new_per_day=new_per_day)
    return msg.FaqResults(q=question, answered=answered, hits=hits)


async def unanswered(ctx: Context, limit: int = 100) -> msg.UnansweredList:
    # Re-checked here: the tenant is the subject's, whatever the gateway decided.
    if not ctx.principal.is_staff_of(ctx.tenant):
        raise failure(ErrorCode.FORBIDDEN, "This town's staff only", f"only staff of {ctx.tenant} may see its unanswered questions")
    return msg.UnansweredList(tenant=ctx.tenant, items=await faq_log.most_asked(ctx.session, ctx.tenant, limit))


def register(app: ServiceApp[Any], base: FaqBase, new_per_day: int) -> None:
    @app.endpoint(msg.SEARCH, msg.FaqSearch)
    async def search(ctx: Context, req: msg.FaqSearch) -> msg.FaqResults:
        return await answer(ctx, base, req.q, new_per_day, req.limit)

    @app.endpoint(msg.UNANSWERED, msg.ListUnanswered, read_only=True)
    async def list_unanswered(ctx: Context, req: msg.ListUnanswered) -> msg.UnansweredList:
        return await unanswered(ctx, req.limit)
