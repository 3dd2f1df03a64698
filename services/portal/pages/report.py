"""Problem reports (Open311's service requests): what is wrong, and where.

The map is an enhancement (``assets/map.js``, OpenStreetMap tiles need the internet); the form
always has latitude/longitude and a place description, so it works offline and without JavaScript.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec

from contracts import applications as apps
from contracts import headers as h
from contracts.errors import ErrorCode, ServiceFailure
from contracts.portal import PageReply
from contracts.subjects import PROCEDURES
from contracts.tenants import Tenant
from contracts.uploads import Upload
from services.portal import forms
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import Page, field_errors

pages = Pages()
MAP_SCRIPT = (Path(__file__).parent.parent / "assets" / "map.js").read_text(encoding="utf-8")


@pages.page("/assets/map.js", audience="any")
async def map_script(page: ThisPage) -> PageReply:
    return PageReply(html=MAP_SCRIPT, media_type="text/javascript")


@pages.page("/report")
async def choose(page: ThisPage) -> PageReply:
    located = [p for p in await forms.catalog(page) if p.located]
    return page.render("report_choose.html", items=located)


def _location(page: Page) -> apps.Location:
    raw = {k: page.field(k) or None for k in ("lat", "long", "address_string")}
    try:
        coords = {k: float(raw[k]) for k in ("lat", "long") if raw[k] is not None}  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError("lat") from exc
    return msgspec.convert({**coords, "address_string": raw["address_string"]}, apps.Location)


@pages.page("/report/{code:str}", methods=("GET", "POST"))
async def report(page: ThisPage, code: Segment) -> PageReply:
    detail = await forms.procedure(page, code)
    if not detail.located:
        return page.not_found()
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    attached: dict[str, Upload] = {}
    if page.request.method == "POST" and page.has_role("resident"):
        values = {k: page.field(k) for k in page.request.form}
        attached = forms.attached(page, detail.fields)
        try:
            location = _location(page)
        except (ValueError, msgspec.ValidationError):
            errors["location"] = page.t("location_needed")
        else:
            try:
                submitted = await page.fetch(
                    PROCEDURES, apps.SUBMIT,
                    apps.SubmitApplication(code=detail.code, answers=forms.answers(page, detail.fields, attached), location=location),
                    apps.Submitted, headers={h.IDEMPOTENCY_KEY: page.field("idempotency_key") or str(uuid.uuid4())},
                )
            except ServiceFailure as exc:
                if exc.envelope.code not in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST) or not exc.envelope.fields:
                    raise
                errors = field_errors(exc, page.lang)
            else:
                return page.redirect(f"/applications/{submitted.application.id}?received=1")
    centre = page.tenant.centre if isinstance(page.tenant, Tenant) and page.tenant.centre else [37.4948, 139.9298]
    return page.render(
        "report.html", status=422 if errors else 200, detail=detail, values=values, errors=errors,
        kept={name: upload for name, upload in attached.items() if name not in errors}, centre=centre, idempotency_key=page.field("idempotency_key") or str(uuid.uuid4()),
    )
