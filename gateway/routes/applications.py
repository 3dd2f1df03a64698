"""Applications: submit (online or at the counter), list, read, and move through the workflow."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from contracts import applications as msg
from contracts import headers as h
from contracts.applications import Channel, IdempotencyKey, Status
from contracts.errors import ErrorCode, field_failure
from contracts.subjects import PROCEDURES
from contracts.uploads import Upload
from gateway.access import Caller
from gateway.uploads import file_response
from gateway.routes.replies import documented, json_reply


@post(
    "/api/v1/applications",
    tags=["applications"],
    status_code=201,
    responses={201: documented(msg.Submitted, "Accepted, with its receipt")},
)
async def submit_application(
    state: State,
    caller: NamedDependency[Caller],
    data: JSONBody[msg.SubmitApplication],
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
) -> Response[bytes]:
    """A resident submits online; a caseworker files at the counter with ``counter_applicant``."""
    principal = await caller.resident_or_staff()
    if not idempotency_key:
        raise field_failure(ErrorCode.BAD_REQUEST, "Idempotency-Key", "申請の重複を防ぐキー（Idempotency-Key）が必要です。",
                            "An Idempotency-Key header is required")
    try:
        msgspec.convert(idempotency_key, IdempotencyKey)
    except msgspec.ValidationError as exc:
        raise field_failure(ErrorCode.BAD_REQUEST, "Idempotency-Key", "申請の重複を防ぐキー（Idempotency-Key）の形が正しくありません。",
                            f"Idempotency-Key: {exc}") from exc
    headers = {h.IDEMPOTENCY_KEY: idempotency_key}
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.SUBMIT, data, principal, headers), 201)


@post(
    "/api/v1/applications/check",
    tags=["applications"],
    status_code=200,
    responses={200: documented(msg.CheckedApplication, "The answers as they would be filed, and the fee")},
)
async def check_application(state: State, caller: NamedDependency[Caller], data: JSONBody[msg.SubmitApplication]) -> Response[bytes]:
    """Check your answers: the same checks as filing, and the fee, with nothing filed."""
    principal = await caller.resident_or_staff()
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.CHECK, data, principal))


@post(
    "/api/v1/me/counter-code",
    tags=["applications"],
    status_code=201,
    responses={201: documented(msg.CounterCode, "Eight digits to show at the desk, valid 30 minutes")},
)
async def counter_code(state: State, caller: NamedDependency[Caller]) -> Response[bytes]:
    """A resident asks their own town for a code that links a counter filing to their account."""
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.COUNTER_CODE, msg.IssueCounterCode(), principal), 201)


@get(
    "/api/v1/applications",
    tags=["applications"],
    responses={200: documented(msg.ApplicationList, "Own (resident) or the town's (staff)")},
)
async def list_applications(
    state: State,
    caller: NamedDependency[Caller],
    status: FromQuery[Status | None] = None,
    channel: FromQuery[Channel | None] = None,
    code: FromQuery[str | None] = None,
    reference: FromQuery[str | None] = None,
    limit: FromQuery[int] = 100,
) -> Response[bytes]:
    principal = await caller.resident_or_staff()
    query = msg.ListApplications(status=status, channel=channel, code=code, reference=reference, limit=limit)
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.LIST, query, principal))


async def _one(state: State, caller: Caller, verb: str, application_id: str) -> bytes:
    principal = await caller.resident_or_staff()
    return await state.bus.call(caller.tenant, PROCEDURES, verb, msg.GetApplication(id=application_id), principal)


@get(
    "/api/v1/applications/{application_id:str}",
    tags=["applications"],
    responses={200: documented(msg.ApplicationDetail, "With its status history")},
)
async def get_application(state: State, caller: NamedDependency[Caller], application_id: FromPath[str]) -> Response[bytes]:
    return json_reply(await _one(state, caller, msg.GET, application_id))


class TransitionBody(msgspec.Struct, frozen=True, kw_only=True):
    """:class:`contracts.applications.Transition` without the id, which is in the path."""

    to: Status
    comment: str = ""
    assign_to: str | None = None
    answers: dict[str, Any] = {}
    counter_visit: bool = False


@post(
    "/api/v1/applications/{application_id:str}/transitions",
    tags=["applications"],
    status_code=200,
    responses={200: documented(msg.ApplicationDetail, "After the move")},
)
async def transition_application(
    state: State, caller: NamedDependency[Caller], application_id: FromPath[str], data: JSONBody[TransitionBody]
) -> Response[bytes]:
    """Staff move an application on; a resident withdraws it or answers a request for information."""
    principal = await caller.resident_or_staff()
    move = msg.Transition(id=application_id, **msgspec.structs.asdict(data))
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.TRANSITION, move, principal))


@get(
    "/api/v1/applications/{application_id:str}/receipt",
    tags=["applications"],
    responses={200: documented(msg.Receipt, "The town's signed receipt")},
)
async def get_receipt(state: State, caller: NamedDependency[Caller], application_id: FromPath[str]) -> Response[bytes]:
    return json_reply(await _one(state, caller, msg.RECEIPT, application_id))


@get(
    "/api/v1/applications/{application_id:str}/document",
    tags=["applications"],
    responses={200: documented(msg.IssuedDocument, "The issued document (電子交付)")},
)
async def get_document(state: State, caller: NamedDependency[Caller], application_id: FromPath[str]) -> Response[bytes]:
    """The document issued for an application: its signed token and a printable page."""
    return json_reply(await _one(state, caller, msg.DOCUMENT, application_id))


@get(
    "/api/v1/applications/{application_id:str}/attachments/{field:str}",
    tags=["applications"],
    media_type="application/octet-stream",
    responses={200: ResponseSpec(None, description="The file as filed", media_type="application/octet-stream")},
)
async def get_attachment(
    state: State, caller: NamedDependency[Caller], application_id: FromPath[str], field: FromPath[str]
) -> Response[bytes]:
    """A file filed with an application, to its applicant and the town's staff."""
    principal = await caller.resident_or_staff()
    handed = msgspec.json.decode(
        await state.bus.call(caller.tenant, PROCEDURES, msg.ATTACHMENT, msg.GetAttachment(id=application_id, field=field), principal),
        type=Upload,
    )
    return await file_response(state.uploads, caller.tenant.slug, principal, handed)


@get("/api/v1/applications/{application_id:str}/document.html", tags=["applications"], media_type="text/html")
async def print_document(state: State, caller: NamedDependency[Caller], application_id: FromPath[str]) -> Response[str]:
    """The printable page of an issued document, with the QR code of its signature."""
    issued = msgspec.json.decode(await _one(state, caller, msg.DOCUMENT, application_id), type=msg.IssuedDocument)
    return Response(issued.html, media_type="text/html")  # Litestar adds the charset itself
