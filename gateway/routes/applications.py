"""Applications: submit (online or at the counter), list, read, and move through the workflow."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from contracts import applications as msg
from contracts import headers as h
from contracts import subjects
from contracts.applications import Channel, IdempotencyKey, Status
from gateway.access import Caller
from gateway.tenancy import require_town

JSON = "application/json"


@post(
    "/api/v1/applications",
    tags=["applications"],
    status_code=201,
    responses={201: ResponseSpec(data_container=msg.Submitted, description="Accepted, with its receipt")},
)
async def submit_application(
    state: State,
    caller: Caller,
    data: msg.SubmitApplication,
    idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)] = None,
) -> Response[bytes]:
    """A resident submits online; a caseworker files at the counter with ``counter_applicant``."""
    principal = await caller.resident_or_staff()
    town = require_town(caller.tenant)
    if not idempotency_key:
        raise ClientException(detail="An Idempotency-Key header is required", extra=[{"field": "Idempotency-Key"}])
    try:
        msgspec.convert(idempotency_key, IdempotencyKey)
    except msgspec.ValidationError as exc:
        raise ClientException(detail=f"Idempotency-Key: {exc}", extra=[{"field": "Idempotency-Key"}]) from exc
    body = await state.bus.request(
        town, subjects.PROCEDURES, msg.SUBMIT, msgspec.json.encode(data), principal, {h.IDEMPOTENCY_KEY: idempotency_key}
    )
    return Response(body, media_type=JSON, status_code=201)


@get(
    "/api/v1/applications",
    tags=["applications"],
    responses={200: ResponseSpec(data_container=msg.ApplicationList, description="Own (resident) or the town's (staff)")},
)
async def list_applications(
    state: State,
    caller: Caller,
    status: Status | None = None,
    channel: Channel | None = None,
    code: str | None = None,
    limit: int = 100,
) -> Response[bytes]:
    principal = await caller.resident_or_staff()
    town = require_town(caller.tenant)
    payload = msgspec.json.encode(msg.ListApplications(status=status, channel=channel, code=code, limit=limit))
    return Response(await state.bus.request(town, subjects.PROCEDURES, msg.LIST, payload, principal), media_type=JSON)


@get(
    "/api/v1/applications/{application_id:str}",
    tags=["applications"],
    responses={200: ResponseSpec(data_container=msg.ApplicationDetail, description="With its status history")},
)
async def get_application(state: State, caller: Caller, application_id: str) -> Response[bytes]:
    principal = await caller.resident_or_staff()
    town = require_town(caller.tenant)
    payload = msgspec.json.encode(msg.GetApplication(id=application_id))
    return Response(await state.bus.request(town, subjects.PROCEDURES, msg.GET, payload, principal), media_type=JSON)


class TransitionBody(msgspec.Struct, frozen=True, kw_only=True):
    to: Status
    comment: str = ""
    assign_to: str | None = None
    answers: dict[str, Any] = {}


@post(
    "/api/v1/applications/{application_id:str}/transitions",
    tags=["applications"],
    status_code=200,
    responses={200: ResponseSpec(data_container=msg.ApplicationDetail, description="After the move")},
)
async def transition_application(state: State, caller: Caller, application_id: str, data: TransitionBody) -> Response[bytes]:
    """Staff move an application on; a resident withdraws it or answers a request for information."""
    principal = await caller.resident_or_staff()
    town = require_town(caller.tenant)
    move = data
    payload = msgspec.json.encode(
        msg.Transition(id=application_id, to=move.to, comment=move.comment, assign_to=move.assign_to, answers=move.answers)
    )
    return Response(await state.bus.request(town, subjects.PROCEDURES, msg.TRANSITION, payload, principal), media_type=JSON)


@get(
    "/api/v1/applications/{application_id:str}/receipt",
    tags=["applications"],
    responses={200: ResponseSpec(data_container=msg.Receipt, description="The town's signed receipt")},
)
async def get_receipt(state: State, caller: Caller, application_id: str) -> Response[bytes]:
    principal = await caller.resident_or_staff()
    town = require_town(caller.tenant)
    payload = msgspec.json.encode(msg.GetApplication(id=application_id))
    return Response(await state.bus.request(town, subjects.PROCEDURES, msg.RECEIPT, payload, principal), media_type=JSON)


async def _document(state: State, caller: Caller, application_id: str) -> msg.IssuedDocument:
    principal = await caller.resident_or_staff()
    town = require_town(caller.tenant)
    payload = msgspec.json.encode(msg.GetApplication(id=application_id))
    return msgspec.json.decode(
        await state.bus.request(town, subjects.PROCEDURES, msg.DOCUMENT, payload, principal), type=msg.IssuedDocument
    )


@get(
    "/api/v1/applications/{application_id:str}/document",
    tags=["applications"],
    responses={200: ResponseSpec(data_container=msg.IssuedDocument, description="The issued document (電子交付)")},
)
async def get_document(state: State, caller: Caller, application_id: str) -> msg.IssuedDocument:
    """The document issued for an application: its signed token and a printable page."""
    return await _document(state, caller, application_id)


@get("/api/v1/applications/{application_id:str}/document.html", tags=["applications"], media_type="text/html")
async def print_document(state: State, caller: Caller, application_id: str) -> Response[str]:
    """The printable page of an issued document, with the QR code of its signature."""
    return Response((await _document(state, caller, application_id)).html, media_type="text/html; charset=utf-8")
