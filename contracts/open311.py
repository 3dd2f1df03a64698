"""Open311 GeoReport v2 for the towns' report procedures (road damage, streetlights, dumping, snow).

The public shapes are GeoReport v2's own (https://wiki.open311.org/GeoReport_v2), field for field,
so that existing Open311 clients read them unchanged; the bus messages carry what the gateway
parsed from a GeoReport request. The jurisdiction is the town of the Host, never a field here.

A GeoReport reply is a bare JSON array (``list[Service]``, ``list[ServiceRequest]``,
``list[RequestCreated]``, ``list[Open311Error]``); the service encodes it once and the gateway
passes the bytes through.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

SERVICES = "open311_services"
SERVICE = "open311_service"
REQUESTS = "open311_requests"
REQUEST = "open311_request"
POST = "open311_post"

#: Language of names, descriptions and notes: Japanese unless the client prefers English.
Lang = Literal["ja", "en"]


class RequestStatus(StrEnum):
    """GeoReport's two states of a service request."""

    OPEN = "open"
    CLOSED = "closed"


Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
RequestId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
#: GeoReport's own limit on a request's description.
Description = Annotated[str, msgspec.Meta(max_length=4000)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
#: A GeoReport range may span at most this many days.
MAX_RANGE_DAYS = 90
MAX_PAGE = 1000


# -- public GeoReport shapes -------------------------------------------------------------------


class Service(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``services.json``: a report procedure the town offers."""

    service_code: str
    service_name: str
    description: str
    #: True when ``services/{code}.json`` lists attributes to fill.
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    #: Comma-separated.
    keywords: str
    group: str


class AttributeValue(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    name: str


class Attribute(msgspec.Struct, frozen=True, kw_only=True):
    """One field of the procedure's form, posted as ``attribute[<code>]``."""

    variable: bool
    code: str
    datatype: Datatype
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue] = []


class ServiceDefinition(msgspec.Struct, frozen=True, kw_only=True):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A report as the public sees it: place, description and status; never who reported it."""

    service_request_id: str
    status: RequestStatus
    #: The platform's finer status in words (never a caseworker's comment, which may name people).
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None
    long: float | None
    media_url: str | None


class RequestCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The reply to ``POST requests.json`` (inside a one-element array)."""

    service_request_id: str
    service_notice: str | None
    account_id: str | None = None


class Open311Error(msgspec.Struct, frozen=True, kw_only=True):
    """GeoReport's error format: the body is a list of these, with the HTTP status as ``code``."""

    code: int
    description: str


class DiscoveryEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    specification: str
    url: str
    changeset: datetime
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(msgspec.Struct, frozen=True, kw_only=True):
    """``discovery.json`` (Open311 service discovery) for the town of the Host."""

    changeset: datetime
    contact: str
    key_service: str
    endpoints: list[DiscoveryEndpoint]


# -- bus messages --------------------------------------------------------------------------------


class ListServices(msgspec.Struct, frozen=True, kw_only=True):
    lang: Lang = "ja"


class GetServiceDefinition(msgspec.Struct, frozen=True, kw_only=True):
    service_code: str
    lang: Lang = "ja"


class ListServiceRequests(msgspec.Struct, frozen=True, kw_only=True):
    """``GET requests.json``. Given ``service_request_ids``, every other filter is ignored (GeoReport)."""

    service_request_ids: Annotated[list[RequestId], msgspec.Meta(max_length=100)] = []
    service_codes: Annotated[list[str], msgspec.Meta(max_length=50)] = []
    statuses: list[RequestStatus] = []
    #: Aware datetimes; without either, the last ``MAX_RANGE_DAYS`` days.
    start_date: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    end_date: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = MAX_PAGE
    lang: Lang = "ja"


class GetServiceRequest(msgspec.Struct, frozen=True, kw_only=True):
    service_request_id: RequestId
    lang: Lang = "ja"


class PostServiceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """``POST requests.json``: a signed-in resident's report, with GeoReport's form fields.

    The reporter is the caller's verified identity; ``email``, ``first_name`` and ``last_name``
    are GeoReport fields that this platform does not store (the reply's notice says so).
    """

    service_code: str
    lat: Latitude | None = None
    long: Longitude | None = None
    address_string: Short | None = None
    description: Description | None = None
    #: ``attribute[<code>]`` form fields, by code.
    attributes: dict[str, str] = {}
    phone: Short | None = None
    email: Short | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    media_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    device_id: Short | None = None
    account_id: Short | None = None
    lang: Lang = "ja"
