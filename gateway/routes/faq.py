"""The regional FAQ: answers for the town of the host, and its unanswered questions for staff."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from contracts import faq as msg
from contracts.errors import ErrorCode, field_failure
from contracts.subjects import PORTAL
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.ratelimit import limited, log_header, logged
from gateway.routes.replies import documented, json_reply


_RESULTS = msgspec.json.Decoder(msg.FaqResults)


def _bad(field: str, message_ja: str, message_en: str) -> Exception:
    return field_failure(ErrorCode.BAD_REQUEST, field, message_ja, message_en, f"Invalid query parameter {field}")


@get(
    "/api/v1/faq",
    tags=["faq"],
    guards=[limited("faq")],
    responses={200: documented(msg.FaqResults, "The town's best answers; a question without a good one is logged for staff")},
)
async def search_faq(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    q: Annotated[str, QueryParameter(required=True, schema_extra={
        "minLength": 1, "maxLength": msg.MAX_QUESTION_CHARS, "pattern": r"\S"})] = "",
    limit: Annotated[int, QueryParameter(schema_extra={"minimum": 1, "maximum": 20})] = 5,
) -> Response[bytes]:
    """Anyone may ask; the answers are the town's (its own where it has replaced the shared ones)."""
    question = q.strip()
    if not question:
        raise _bad("q", "質問を入力してください。", "q is required: the question to search for")
    if len(question) > msg.MAX_QUESTION_CHARS:
        raise _bad("q", f"質問は{msg.MAX_QUESTION_CHARS}文字以内で入力してください。", f"q is longer than {msg.MAX_QUESTION_CHARS} characters")
    if not 1 <= limit <= 20:
        raise _bad("limit", "件数は1から20で指定してください。", "limit must be between 1 and 20")
    query = msg.FaqSearch(q=question, limit=limit)
    headers = await log_header(request)
    reply = await state.bus.call(tenant, PORTAL, msg.SEARCH, query, headers=headers)
    if not headers and not _RESULTS.decode(reply).answered:
        await logged(request)  # it went onto the staff's list: the caller's share is counted
    return json_reply(reply)


@get(
    "/api/v1/faq/unanswered",
    tags=["faq"],
    responses={200: documented(msg.UnansweredList, "Questions residents asked that found no good answer, most asked first")},
)
async def unanswered_faq(
    state: State, caller: NamedDependency[Caller],
    limit: Annotated[int, QueryParameter(schema_extra={"minimum": 1, "maximum": 500})] = 100,
) -> Response[bytes]:
    """For the town's caseworkers and tenant admins: what to write answers for next."""
    principal = await caller.staff()
    if not 1 <= limit <= 500:
        raise _bad("limit", "件数は1から500で指定してください。", "limit must be between 1 and 500")
    query = msg.ListUnanswered(limit=limit)
    return json_reply(await state.bus.call(caller.tenant, PORTAL, msg.UNANSWERED, query, principal))
