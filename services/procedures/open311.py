"""Open311 GeoReport v2 over the town's report procedures, on top of applications.

A GeoReport *service* is a procedure with the report workflow; a *service request* is an
application of one. Posting one files an application through ``Applications.submit`` (the same
checks, hash chain, outbox event and receipt as any online filing), so nothing about submission
is written twice. Reading is public in GeoReport, so the projection here shows the place, the
resident's description and the status, and never who reported it (no name, address, phone, or
a caseworker's comment).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select

from contracts import applications as apps
from contracts import open311 as msg
from contracts.applications import Status
from contracts.catalog import Category, FieldDef
from contracts.errors import (
    ErrorCode,
    ErrorEnvelope,
    ServiceFailure,
    failure,
    field_failure,
)
from contracts.procedures import ProcedureDetail, ProcedureList
from services.procedures.applications import Applications
from services.procedures.catalog import CatalogReader
from services.procedures.models import Application
from services.procedures.prefill import IDENTITY_SOURCES
from services.runtime.database import utc
from services.runtime.service import Context, ServiceApp

TOKYO = ZoneInfo("Asia/Tokyo")
REPORT = "report"
#: GeoReport knows two states; the platform's statuses fall on either side of "the town is done".
OPEN = frozenset({Status.RECEIVED, Status.IN_REVIEW, Status.NEEDS_INFO, Status.APPROVED})
CLOSED = frozenset({Status.REJECTED, Status.CLOSED, Status.WITHDRAWN, Status.ISSUED})
#: What ``status_notes`` says for each platform status: fixed words, so no comment leaks a name.
STATUS_NOTES: dict[Status, tuple[str, str]] = {
    Status.RECEIVED: ("受け付けました", "Received"),
    Status.IN_REVIEW: ("担当課が対応しています", "Being handled by the town"),
    Status.NEEDS_INFO: ("確認が必要な点があります", "More information is needed"),
    Status.APPROVED: ("対応することになりました", "Accepted for action"),
    Status.ISSUED: ("対応が完了しました", "Done"),
    Status.CLOSED: ("対応が完了しました", "Done"),
    Status.REJECTED: ("対応の対象外でした", "Not taken up"),
    Status.WITHDRAWN: ("通報者が取り下げました", "Withdrawn by the reporter"),
}
GROUPS: dict[Category, tuple[str, str]] = {
    "certificates": ("証明書", "Certificates"),
    "moving": ("引越し", "Moving"),
    "family": ("家族", "Family"),
    "childcare": ("子育て", "Childcare"),
    "environment": ("環境・ごみ", "Environment and waste"),
    "facilities": ("施設", "Facilities"),
    "roads": ("道路", "Roads"),
    "pets": ("ペット", "Pets"),
    "tax": ("税", "Tax"),
}
#: GeoReport's short ``string`` versus long ``text``.
SHORT_TEXT = 200
_PROCEDURES = msgspec.json.Decoder(ProcedureList)
_DETAIL = msgspec.json.Decoder(ProcedureDetail)
_SUBMITTED = msgspec.json.Decoder(apps.Submitted)


def _pick(lang: msg.Lang, ja: str, en: str) -> str:
    return en if lang == "en" and en else ja


class Form(msgspec.Struct, frozen=True, kw_only=True):
    """Where a procedure's fields go in GeoReport's form."""

    #: The text field that GeoReport's ``description`` fills.
    description: str | None
    #: The phone field that GeoReport's ``phone`` fills.
    phone: str | None
    #: Everything else the resident types, posted as ``attribute[<name>]``.
    attributes: list[FieldDef]


def form_of(procedure: ProcedureDetail) -> Form:
    description = next((f.name for f in procedure.fields if f.name == "description" and f.kind == "text"), None)
    phone = next((f.name for f in procedure.fields if f.kind == "phone"), None)
    attributes = [
        f
        for f in procedure.fields
        # Identity fields come from the verified token (once only); files have no GeoReport
        # form field (media_url is a link, which the town does not fetch).
        if f.name not in (description, phone) and f.kind != "attachment" and f.prefill not in IDENTITY_SOURCES
    ]
    return Form(description=description, phone=phone, attributes=attributes)


def _datatype(field: FieldDef) -> msg.Datatype:
    if field.kind == "choice":
        return "singlevaluelist"
    if field.kind == "number":
        return "number"
    if field.kind == "date":
        return "datetime"
    if field.kind == "text" and (field.max_length is None or field.max_length > SHORT_TEXT):
        return "text"
    return "string"


def _datatype_description(field: FieldDef, lang: msg.Lang) -> str:
    if field.kind == "date":
        return _pick(lang, "日付（例: 2024-04-01）", "A date, for example 2024-04-01")
    if field.kind == "postal_code":
        return _pick(lang, "郵便番号（例: 966-0000）", "Postal code, for example 966-0000")
    if field.kind == "phone":
        return _pick(lang, "電話番号（例: 0241-00-0000）", "Phone number, for example 0241-00-0000")
    if field.kind == "number":
        low = "" if field.minimum is None else f"{field.minimum:g}"
        high = "" if field.maximum is None else f"{field.maximum:g}"
        return _pick(lang, f"数値 {low}〜{high}", f"A number {low}–{high}") if low or high else ""
    if field.kind in ("text", "address") and field.max_length:
        return _pick(lang, f"{field.max_length} 文字以内", f"At most {field.max_length} characters")
    return ""


def attributes(procedure: ProcedureDetail, lang: msg.Lang) -> list[msg.Attribute]:
    found = []
    for order, field in enumerate(form_of(procedure).attributes, start=1):
        label = _pick(lang, field.label_ja, field.label_en)
        help_text = _pick(lang, field.help_ja, field.help_en)
        found.append(
            msg.Attribute(
                variable=True,
                code=field.name,
                datatype=_datatype(field),
                required=field.required,
                datatype_description=_datatype_description(field, lang),
                order=order,
                description=f"{label}: {help_text}" if help_text else label,
                values=[msg.AttributeValue(key=c.value, name=_pick(lang, c.label_ja, c.label_en)) for c in field.choices],
            )
        )
    return found


def service(procedure: ProcedureDetail, lang: msg.Lang) -> msg.Service:
    group = GROUPS.get(procedure.category, (procedure.category, procedure.category))  # type: ignore[call-overload]
    return msg.Service(
        service_code=procedure.code,
        service_name=_pick(lang, procedure.name_ja, procedure.name_en),
        description=_pick(lang, procedure.summary_ja, procedure.summary_en),
        metadata=bool(form_of(procedure).attributes),
        type="realtime",
        keywords=",".join(procedure.keywords_ja),
        group=_pick(lang, *group),
    )


def public_request(app: Application, procedure: ProcedureDetail, lang: msg.Lang) -> msg.ServiceRequest:
    """The report as anyone may see it. Reads no applicant column, on purpose."""
    field = form_of(procedure).description
    description = msgspec.json.decode(app.answers_json).get(field) if field else None
    is_open = app.status in OPEN
    expected = datetime.combine(app.due_on, time(23, 59, 59), TOKYO) if app.due_on and is_open else None
    return msg.ServiceRequest(
        service_request_id=app.id,
        status=msg.RequestStatus.OPEN if is_open else msg.RequestStatus.CLOSED,
        status_notes=_pick(lang, *STATUS_NOTES.get(app.status, (app.status, app.status))),
        service_name=_pick(lang, procedure.name_ja, procedure.name_en),
        service_code=app.code,
        description=description if isinstance(description, str) else None,
        agency_responsible=_pick(lang, procedure.department_ja, procedure.department_en) or None,
        service_notice=None,
        # Whole seconds: the W3C form GeoReport clients parse (and a start_date taken from it still matches).
        requested_datetime=utc(app.submitted_at).astimezone(TOKYO).replace(microsecond=0),
        updated_datetime=utc(app.updated_at).astimezone(TOKYO).replace(microsecond=0),
        expected_datetime=expected,
        address=app.address_string,
        lat=app.lat,
        long=app.long,
        media_url=None,
    )


def _bad(field: str, ja: str, en: str, title: str = "Bad request") -> ServiceFailure:
    return field_failure(ErrorCode.BAD_REQUEST, field, ja, en, title)


#: Reports are of this century: a window outside it is refused (at year 1 or 9999 it overflowed).
YEARS = (2000, 2100)


def date_range(req: msg.ListServiceRequests, now: datetime) -> tuple[datetime, datetime]:
    """GeoReport's window: at most ``MAX_RANGE_DAYS``; the most recent ones when none is given."""
    span = timedelta(days=msg.MAX_RANGE_DAYS)
    start, end = req.start_date, req.end_date
    for name, value in (("start_date", start), ("end_date", end)):
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:  # year 1 or 9999 overflowed: a 500
            raise _bad(name, f"{name} は{YEARS[0]}年から{YEARS[1]}年の日時にしてください。",
                       f"{name} must be a time between the years {YEARS[0]} and {YEARS[1]}")
    if start is None and end is None:
        end = now
    if end is None:
        assert start is not None
        end = start + span
    if start is None:
        start = end - span
    if start > end:
        raise _bad("start_date", "start_date は end_date より前にしてください。", "start_date must not be after end_date")
    if end - start > span:
        raise _bad(
            "end_date",
            f"start_date から end_date までは {msg.MAX_RANGE_DAYS} 日以内にしてください。",
            f"start_date to end_date may span at most {msg.MAX_RANGE_DAYS} days",
        )
    return start.astimezone(UTC), end.astimezone(UTC)


def open311_fields(envelope: ErrorEnvelope, form: Form) -> ErrorEnvelope:
    """Name the failing fields as a GeoReport client posted them (``attribute[x]``, not ``$.answers.x``)."""

    def rename(path: str) -> str:
        if path.startswith("$.answers."):
            name = path.removeprefix("$.answers.")
            if name == form.description:
                return "description"
            if name == form.phone:
                return "phone"
            return f"attribute[{name}]"
        if path.startswith("$.location."):
            return path.removeprefix("$.location.")
        if path == "$.location":
            return "lat, long, address_string"
        return path.removeprefix("$.")

    fields = [msgspec.structs.replace(f, field=rename(f.field)) for f in envelope.fields]
    return msgspec.structs.replace(envelope, fields=fields)


class Open311:
    def __init__(self, catalog: CatalogReader, applications: Applications) -> None:
        self.catalog = catalog
        self.applications = applications

    async def reports(self, ctx: Context) -> list[ProcedureDetail]:
        """The town's report procedures, in catalog order."""
        listing = _PROCEDURES.decode(await self.catalog.listing(ctx, None))
        found = []
        for item in listing.items:
            if item.located and (procedure := await self.report(ctx, item.code)) is not None:
                found.append(procedure)
        return found

    async def report(self, ctx: Context, code: str) -> ProcedureDetail | None:
        """The town's procedure ``code`` if it is a report; None for any other or unknown code."""
        raw = await self.catalog.detail(ctx, code)
        procedure = None if raw is None else _DETAIL.decode(raw)
        return procedure if procedure is not None and procedure.workflow == REPORT else None

    async def services(self, ctx: Context, req: msg.ListServices) -> list[msg.Service]:
        return [service(p, req.lang) for p in await self.reports(ctx)]

    async def definition(self, ctx: Context, req: msg.GetServiceDefinition) -> msg.ServiceDefinition:
        procedure = await self.report(ctx, req.service_code)
        if procedure is None:
            raise failure(ErrorCode.NOT_FOUND, "Unknown service", f"{ctx.tenant} has no report service {req.service_code!r}")
        return msg.ServiceDefinition(service_code=procedure.code, attributes=attributes(procedure, req.lang))

    async def _rows(self, ctx: Context, reports: dict[str, ProcedureDetail], req: msg.ListServiceRequests) -> Sequence[Application]:
        # Only reports: an application of any other procedure is a resident's private business.
        query = select(Application).where(Application.tenant == ctx.tenant, Application.code.in_(list(reports)))
        if req.service_request_ids:
            query = query.where(Application.id.in_(req.service_request_ids))
        else:
            if req.service_codes:
                query = query.where(Application.code.in_(req.service_codes))
            if req.statuses:
                wanted = set().union(*(OPEN if s == msg.RequestStatus.OPEN else CLOSED for s in req.statuses))
                query = query.where(Application.status.in_(sorted(wanted)))
            start, end = date_range(req, datetime.now(UTC))
            query = query.where(Application.submitted_at >= start, Application.submitted_at <= end)
        query = query.order_by(Application.submitted_at.desc()).limit(req.page_size)
        return (await ctx.session.execute(query)).scalars().all()

    async def requests(self, ctx: Context, req: msg.ListServiceRequests) -> list[msg.ServiceRequest]:
        reports = {p.code: p for p in await self.reports(ctx)}
        rows = await self._rows(ctx, reports, req)
        return [public_request(r, reports[r.code], req.lang) for r in rows]

    async def request(self, ctx: Context, req: msg.GetServiceRequest) -> list[msg.ServiceRequest]:
        found = await self.requests(ctx, msg.ListServiceRequests(service_request_ids=[req.service_request_id], lang=req.lang))
        if not found:
            raise failure(ErrorCode.NOT_FOUND, "No such service request", f"no service request {req.service_request_id!r} here")
        return found

    async def post(self, ctx: Context, req: msg.PostServiceRequest) -> list[msg.RequestCreated]:
        procedure = await self.report(ctx, req.service_code)
        if procedure is None:
            raise _bad(
                "service_code",
                f"{req.service_code!r} はこの自治体の通報の種類にありません。services.json を確認してください。",
                f"{ctx.tenant} has no report service {req.service_code!r}; see services.json",
                "Unknown service_code",
            )
        try:
            location = msgspec.convert(
                {"lat": req.lat, "long": req.long, "address_string": req.address_string}, apps.Location
            )
        except msgspec.ValidationError as exc:
            raise _bad(
                "lat, long, address_string",
                "場所を lat と long（緯度・経度）または address_string で指定してください。",
                f"a report needs its place: lat and long, or address_string ({str(exc).split(' - at ')[0]})",
                "Location required",
            ) from exc
        form = form_of(procedure)
        answers: dict[str, str] = dict(req.attributes)
        if req.description:
            if form.description is None:
                raise _bad("description", "この通報には説明欄がありません。", f"{procedure.code} takes no description")
            answers[form.description] = req.description
        if req.phone and form.phone is not None:
            answers[form.phone] = req.phone
        submit = apps.SubmitApplication(code=procedure.code, answers=answers, location=location)
        try:
            raw = await self.applications.submit(ctx, submit)
        except ServiceFailure as exc:
            raise ServiceFailure(open311_fields(exc.envelope, form)) from exc
        submitted = _SUBMITTED.decode(raw)
        return [
            msg.RequestCreated(
                service_request_id=submitted.application.id,
                service_notice=self.notice(req, procedure, submitted.application, form),
            )
        ]

    def notice(self, req: msg.PostServiceRequest, procedure: ProcedureDetail, app: apps.ApplicationSummary, form: Form) -> str:
        lang = req.lang
        department = _pick(lang, procedure.department_ja, procedure.department_en)
        if app.due_on is not None:
            text = _pick(lang, f"{department}が {app.due_on.isoformat()} までに確認します。", f"{department} will look at it by {app.due_on.isoformat()}.")
        else:
            text = _pick(lang, f"{department}が確認します。", f"{department} will look at it.")
        unused = [name for name, value in (
            ("first_name", req.first_name), ("last_name", req.last_name), ("email", req.email),
            ("phone", req.phone if form.phone is None else None), ("media_url", req.media_url),
        ) if value]
        if unused:
            text += _pick(
                lang,
                f" {', '.join(unused)} は保存していません（通報者はサインインした本人です。写真は町のポータルから添付できます）。",
                f" Not stored: {', '.join(unused)} (the reporter is the signed-in resident; photos can be attached in the town's portal).",
            )
        return text


def register(app: ServiceApp[Any], catalog: CatalogReader, applications: Applications) -> Open311:
    open311 = Open311(catalog, applications)
    app.endpoint(msg.SERVICES, msg.ListServices, read_only=True)(open311.services)
    app.endpoint(msg.SERVICE, msg.GetServiceDefinition, read_only=True)(open311.definition)
    app.endpoint(msg.REQUESTS, msg.ListServiceRequests, read_only=True)(open311.requests)
    app.endpoint(msg.REQUEST, msg.GetServiceRequest, read_only=True)(open311.request)
    app.endpoint(msg.POST, msg.PostServiceRequest)(open311.post)
    return open311
