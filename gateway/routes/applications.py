"""An application's filed files and its issued document's printable page (the rest of the
applications' routes are rows of ``table.py``)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath

from contracts import applications as msg
from contracts.subjects import PROCEDURES
from contracts.uploads import Upload
from gateway.access import Caller
from gateway.uploads import file_response


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
    principal = await caller.resident_or_staff()
    reply = await state.bus.call(caller.tenant, PROCEDURES, msg.DOCUMENT, msg.GetApplication(id=application_id), principal)
    issued = msgspec.json.decode(reply, type=msg.IssuedDocument)
    return Response(issued.html, media_type="text/html")  # Litestar adds the charset itself
