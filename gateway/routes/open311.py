"""Open311 GeoReport v2 at ``/open311/v2``: the town's report procedures for any Open311 client.

The town is the Host, as everywhere; ``jurisdiction_id`` is optional and, when sent, must name
that same town (its slug or its 団体コード), else 404. One NATS request per route.

Two things differ from ``/api/v1`` on purpose:

- Errors are GeoReport's own format, ``[{"code": 400, "description": "..."}]`` with the same HTTP
  status, not ``application/problem+json``: Open311 clients parse that list (and only that), and
  an Open311 client is who calls here. Input errors are 400 (GeoReport has no 422), one entry per
  failing field, each description starting with the field as the client sent it
  (``lat``, ``attribute[damage_type]``).
- Only JSON is served. GeoReport also defines ``.xml``; any other suffix is 404 in the error
  format above, naming the ``.json`` resource to use instead.

Reading (services, requests) is public, as GeoReport intends; it never shows who reported
anything (see ``services/procedures/open311.py``). Posting needs a signed-in resident's bearer
token: an ``api_key`` is not an identity here, and anonymous reports are not taken (a report
lands in the town's tamper-evident record and a caseworker may need to call back).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from contracts import headers as h
from contracts import open311 as msg
from contracts.errors import ErrorCode, ServiceFailure
from contracts.subjects import PROCEDURES
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.routes.options import with_options
from gateway.routes.replies import JSON, documented, json_reply
from gateway.tenancy import require_town

log = logging.getLogger(__name__)
PATH = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When this API's shape last changed (discovery's ``changeset``).
CHANGESET = datetime(2026, 11, 24, tzinfo=ZoneInfo("Asia/Tokyo"))
TOKYO = ZoneInfo("Asia/Tokyo")
_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]{1,64})\](\[\])?")
#: Form fields of ``POST requests.json`` that go to the service as they are.
_POST_FIELDS = frozenset(
    {"service_code", "lat", "long", "address_string", "description", "phone", "email", "first_name", "last_name",
     "media_url", "device_id", "account_id"}
)


# -- GeoReport errors ------------------------------------------------------------------------------


class Open311Failure(Exception):
    """An input error found in the gateway, already in GeoReport's words."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions


def _errors(status: int, descriptions: list[str], headers: dict[str, str] | None = None) -> Response[bytes]:
    body = msgspec.json.encode([msg.Open311Error(code=status, description=d) for d in descriptions])
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def _on_failure(request: Request[Any, Any, Any], exc: ServiceFailure) -> Response[bytes]:
    envelope = exc.envelope
    # GeoReport answers bad input with 400; there is no 422 in its vocabulary.
    status = 400 if envelope.code is ErrorCode.VALIDATION else exc.status
    english = _lang(request) == "en"
    descriptions = [f"{f.field}: {f.message_en if english else f.message_ja}" for f in envelope.fields]
    headers = None
    if envelope.code is ErrorCode.STEP_UP and envelope.acr_values:
        headers = {"WWW-Authenticate": f'Bearer error="insufficient_user_authentication", acr_values="{envelope.acr_values}"'}
    return _errors(status, descriptions or [envelope.detail or envelope.title], headers)


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    return _errors(exc.status_code, [exc.detail], exc.headers)


def _on_open311(request: Request[Any, Any, Any], exc: Open311Failure) -> Response[bytes]:
    return _errors(exc.status, list(exc.descriptions))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _errors(500, ["Internal error"])


# -- request parsing -------------------------------------------------------------------------------


def _lang(request: Request[Any, Any, Any]) -> msg.Lang:
    """Japanese first; English when the client's Accept-Language puts English before Japanese."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("ja"):
            return "ja"
        if tag.startswith("en"):
            return "en"
    return "ja"


def _check_jurisdiction(tenant: TenantProfile, jurisdiction_id: str | None) -> str:
    town = require_town(tenant)
    if jurisdiction_id and jurisdiction_id not in (tenant.slug, tenant.code):
        raise Open311Failure(404, f"jurisdiction_id: {jurisdiction_id!r} is not served at this host (this is {town}, {tenant.code})")
    return town


def _json_suffix(value: str, resource: str) -> str:
    stem, dot, suffix = value.rpartition(".")
    if not dot or suffix != "json" or not stem:
        raise Open311Failure(404, f"only JSON is served: use {PATH}/{resource}/<id>.json")
    return stem


def _convert(values: dict[str, Any], type_: type[Any], names: dict[str, str] | None = None) -> Any:
    """A bus message from parsed parameters; a failure names the parameter as the client sent it."""
    try:
        return msgspec.convert(values, type_, strict=False)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).rpartition(" - at `")
        field = re.sub(r"\[\d+\]$", "", path.rstrip("`").removeprefix("$."))
        raise Open311Failure(400, f"{(names or {}).get(field, field)}: {message or exc}") from exc


_PAGE_SIZE = re.compile(r"[1-9][0-9]{0,2}|1000")


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _datetime(name: str, value: str | None) -> datetime | None:
    """W3C datetime as GeoReport asks (``2024-04-01T00:00:00Z``); without an offset, Japan time."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise Open311Failure(400, f"{name}: not a W3C datetime such as 2024-04-01T00:00:00+09:00") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)


def _idempotency_key(request: Request[Any, Any, Any]) -> str:
    """GeoReport has no idempotency: a client's request id makes its retry safe; else every POST is new."""
    supplied = request.headers.get(h.IDEMPOTENCY_KEY) or request.headers.get("x-request-id")
    if supplied:
        return "open311-" + hashlib.sha256(supplied.encode()).hexdigest()[:48]
    return "open311-" + uuid.uuid4().hex


# -- routes ----------------------------------------------------------------------------------------


@get("/discovery.json", sync_to_thread=False, responses={200: documented(msg.Discovery, "Where and how this town's GeoReport v2 is served")})
def discovery(request: Request[Any, Any, Any], state: State, tenant: NamedDependency[TenantProfile]) -> Response[bytes]:
    """Open311 service discovery for this town."""
    require_town(tenant)
    base = f"{request.url.scheme}://{state.resolver.host_of(request)}{PATH}"
    contact = tenant.contact
    document = msg.Discovery(
        changeset=CHANGESET,
        contact=f"{tenant.name_ja} {contact.phone} {contact.email}".strip(),
        key_service="POST requests.json takes a bearer token of a signed-in resident (OpenID Connect); no api_key",
        endpoints=[
            msg.DiscoveryEndpoint(
                specification=SPECIFICATION,
                url=base,
                changeset=CHANGESET,
                type="test" if state.settings.development else "production",
                formats=[JSON],
            )
        ],
    )
    return Response(msgspec.json.encode(document), media_type=JSON)


@get("/services.json", responses={200: documented(list[msg.Service], "The town's report services")})
async def list_services(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    jurisdiction_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    _check_jurisdiction(tenant, jurisdiction_id)
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.SERVICES, msg.ListServices(lang=_lang(request))))


@get("/services/{code:str}", responses={200: documented(msg.ServiceDefinition, "Its attributes")})
async def service_definition(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    code: FromPath[str],
    jurisdiction_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """``services/{service_code}.json``: the attributes (form fields) a report of this kind takes."""
    _check_jurisdiction(tenant, jurisdiction_id)
    query = msg.GetServiceDefinition(service_code=_json_suffix(code, "services"), lang=_lang(request))
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.SERVICE, query))


@get("/requests.json", responses={200: documented(list[msg.ServiceRequest], "Reports")})
async def list_requests(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    service_request_id: Annotated[str | None, QueryParameter(description="Comma-separated; overrides every other filter")] = None,
    service_code: Annotated[str | None, QueryParameter(description="Comma-separated")] = None,
    start_date: Annotated[str | None, QueryParameter(description="W3C datetime (without an offset: Japan time)")] = None,
    end_date: Annotated[str | None, QueryParameter(description="W3C datetime; at most 90 days after start_date")] = None,
    status: Annotated[str | None, QueryParameter(
        description="open, closed, or both comma-separated", schema_extra={"pattern": r"^[\s,]*((open|closed)[\s,]*)*$"})] = None,
    page_size: Annotated[str | None, QueryParameter(
        description="At most 1000 (the default)", schema_extra={"pattern": "^([1-9][0-9]{0,2}|1000)?$"})] = None,
    jurisdiction_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """Reports of the town, newest first: place, description and status, never who reported them."""
    _check_jurisdiction(tenant, jurisdiction_id)
    values: dict[str, Any] = {
        "service_request_ids": _csv(service_request_id),
        "service_codes": _csv(service_code),
        "statuses": _csv(status),
        "start_date": _datetime("start_date", start_date),
        "end_date": _datetime("end_date", end_date),
        "lang": _lang(request),
    }
    if page_size:
        if not _PAGE_SIZE.fullmatch(page_size):  # msgspec would also take "1e2" or "100.0"
            raise Open311Failure(400, "page_size: a whole number from 1 to 1000")
        values["page_size"] = page_size
    names = {"service_request_ids": "service_request_id", "service_codes": "service_code", "statuses": "status"}
    query = _convert(values, msg.ListServiceRequests, names)
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.REQUESTS, query))


@post(
    "/requests.json",
    status_code=201,
    responses={201: documented(list[msg.RequestCreated], "The new report's id")},
)
async def post_request(request: Request[Any, Any, Any], state: State, caller: NamedDependency[Caller]) -> Response[bytes]:
    """File a report (form-encoded, GeoReport's fields) as the signed-in resident."""
    principal = await caller.resident()
    form = await request.form()
    values: dict[str, Any] = {"lang": _lang(request)}
    attributes: dict[str, str] = {}
    jurisdiction_id = None
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise Open311Failure(400, f"{key}: files are not accepted; send media_url or attach photos in the town's portal")
        value = value.strip()
        if attribute := _ATTRIBUTE.fullmatch(key):
            code = attribute[1]
            if code in attributes:
                raise Open311Failure(400, f"attribute[{code}]: takes one value")
            if value:
                attributes[code] = value
        elif key == "jurisdiction_id":
            jurisdiction_id = value
        elif key in _POST_FIELDS and value:
            if key in values:
                raise Open311Failure(400, f"{key}: given more than once")
            values[key] = value
        # Anything else (api_key, address_id, token, ...) is not used: the tenant is the Host and the
        # caller is the bearer token.
    _check_jurisdiction(caller.tenant, jurisdiction_id)
    if "service_code" not in values:
        raise Open311Failure(400, "service_code: required (see services.json)")
    report = _convert({**values, "attributes": attributes}, msg.PostServiceRequest)
    headers = {h.IDEMPOTENCY_KEY: _idempotency_key(request)}
    return json_reply(await state.bus.call(caller.tenant, PROCEDURES, msg.POST, report, principal, headers), 201)


@get("/requests/{request_id:str}", responses={200: documented(list[msg.ServiceRequest], "One report")})
async def get_request(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[TenantProfile],
    request_id: FromPath[str],
    jurisdiction_id: FromQuery[str | None] = None,
) -> Response[bytes]:
    """``requests/{service_request_id}.json``: one report, in a one-element list as GeoReport has it."""
    _check_jurisdiction(tenant, jurisdiction_id)
    query = _convert({"service_request_id": _json_suffix(request_id, "requests"), "lang": _lang(request)}, msg.GetServiceRequest)
    return json_reply(await state.bus.call(tenant, PROCEDURES, msg.REQUEST, query))


def _not_here(resource: str) -> Response[bytes]:
    stem = resource.rpartition(".")[0] or resource
    if stem in ("services", "requests", "discovery"):
        return _errors(404, [f"only JSON is served: use {PATH}/{stem}.json"])
    return _errors(404, [f"no such resource: {PATH}/{resource}"])


@get("/{resource:str}", include_in_schema=False, sync_to_thread=False)
def other_get(resource: FromPath[str]) -> Response[bytes]:
    """``services.xml``, ``requests.xml`` and anything else: JSON only, said in GeoReport's format."""
    return _not_here(resource)


@post("/{resource:str}", include_in_schema=False, sync_to_thread=False)
def other_post(resource: FromPath[str]) -> Response[bytes]:
    return _not_here(resource)


router = Router(
    path=PATH,
    route_handlers=with_options([discovery, list_services, service_definition, list_requests, post_request, get_request, other_get, other_post]),
    tags=["open311"],
    exception_handlers={
        Open311Failure: _on_open311,
        ServiceFailure: _on_failure,
        HTTPException: _on_http,
        Exception: _on_unexpected,
    },
)
