"""The staff console: the town's queue of online and counter filings, an application's detail,
history and transitions, and the procedures the town offers. Counter filing, templates and
broadcasts live in their own ``staff_*`` modules and are included here.

Every page is for this town's staff only (``audience="staff"``); the procedures service checks
the principal again on every read and move, so the portal adds no rule of its own.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from contracts import applications as apps
from contracts import payments
from contracts import procedures as procs
from contracts.catalog import FieldDef
from contracts.errors import ErrorCode, ServiceFailure, from_validation_error
from contracts.portal import PageReply
from contracts.subjects import PROCEDURES
from services.portal.pages import staff_broadcasts, staff_counter, staff_payments, staff_templates
from services.portal.pages.resident import send_attachment
from services.portal.view import local
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import Page, field_errors

TOKYO = ZoneInfo("Asia/Tokyo")
STATUSES: tuple[str, ...] = tuple(apps.Status)
CHANNELS: tuple[str, ...] = tuple(apps.Channel)
FILTERS = ("reference", "status", "channel", "code")
#: Refusals of a move shown on its form; any other failure is the problem page.
MOVE_ERRORS = (ErrorCode.CONFLICT, ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST)

pages = Pages()


def today() -> date:
    """The town's date: a filing due today is not overdue until Tokyo's day is over."""
    return datetime.now(TOKYO).date()


def is_overdue(item: apps.ApplicationSummary, on: date) -> bool:
    return item.due_on is not None and item.due_on < on and item.status not in apps.FINISHED


async def offered(page: Page) -> list[procs.ProcedureSummary]:
    listed = await page.fetch(PROCEDURES, procs.LIST, procs.ListProcedures(), procs.ProcedureList)
    return listed.items


def _filters(page: Page) -> tuple[dict[str, str], apps.ListApplications | None, dict[str, str]]:
    """The queue's filters from the query, through the contract so a bad value is named."""
    chosen = {name: page.query(name)[:64] for name in FILTERS}
    try:
        wanted = msgspec.convert({k: v for k, v in chosen.items() if v}, apps.ListApplications)
    except msgspec.ValidationError as exc:
        return chosen, None, field_errors(from_validation_error(exc), page.lang)
    return chosen, wanted, {}


@pages.page("/staff", audience="staff")
async def queue(page: ThisPage) -> PageReply:
    chosen, wanted, errors = _filters(page)
    items: list[apps.ApplicationSummary] = []
    if wanted:
        try:
            items = (await page.fetch(PROCEDURES, apps.LIST, wanted, apps.ApplicationList)).items
        except ServiceFailure as exc:  # a reference whose check digit is wrong: said at its field
            if not exc.envelope.fields:
                raise
            errors = field_errors(exc, page.lang)
    on = today()
    overdue = {a.id for a in items if is_overdue(a, on)}
    return page.render(
        "staff/queue.html", status=422 if errors else 200, items=items, overdue=overdue, chosen=chosen,
        errors=errors, statuses=STATUSES, channels=CHANNELS, procedures=await offered(page), local=local,
    )


def _shown(value: Any, field: FieldDef | None, page: Page) -> str:
    """An answer as staff read it: a choice by its label."""
    if field is not None and field.kind == "choice":
        for c in field.choices:
            if c.value == str(value):
                return page.pick(c.label_ja, c.label_en)
    return str(value)


async def _answers(page: Page, detail: apps.ApplicationDetail) -> list[tuple[str, str, str | None]]:
    """(label, value, link) of each answer, in the form's order; answers the form no longer has
    last. A file is shown by its name, linked to its content."""
    try:
        procedure = await page.fetch(PROCEDURES, procs.GET, procs.GetProcedure(code=detail.summary.code), procs.ProcedureDetail)
        fields = procedure.fields
    except ServiceFailure:
        fields = []  # the town stopped offering it: the answers are still the record
    files = {f.field: f for f in detail.attachments}
    rows: list[tuple[str, str, str | None]] = []
    for f in fields:
        if f.name in files:
            rows.append((page.pick(f.label_ja, f.label_en), files[f.name].filename, attachment_url(detail, f.name)))
        elif f.name in detail.answers:
            rows.append((page.pick(f.label_ja, f.label_en), _shown(detail.answers[f.name], f, page), None))
    known = {f.name for f in fields}
    rows += [(name, _shown(value, None, page), None) for name, value in detail.answers.items() if name not in known]
    return rows


def attachment_url(detail: apps.ApplicationDetail, field: str) -> str:
    return f"/staff/applications/{detail.summary.id}/files/{field}"


@pages.page("/staff/applications/{id:str}/files/{field:str}", audience="staff")
async def attached_file(page: ThisPage, id: Segment, field: Segment) -> PageReply:
    """A file filed with an application, for the town's staff (the read is audited)."""
    return await send_attachment(page, id, field)


@pages.page("/staff/applications/{id:str}", methods=("GET", "POST"), audience="staff")
async def application(page: ThisPage, id: Segment) -> PageReply:
    app_id = id
    errors: dict[str, str] = {}
    refused: ServiceFailure | None = None
    if page.request.method == "POST" and page.field("kind") in tuple(payments.LedgerKind):
        method = page.field("method")
        if method not in tuple(payments.CounterMethod):
            errors["method"] = page.t("staff_payment_choose")
        else:
            record = payments.CounterPayment(application_id=app_id, method=payments.CounterMethod(method),
                                             kind=payments.LedgerKind(page.field("kind")))
            try:
                await page.fetch(PROCEDURES, payments.RECORD, record, apps.ApplicationDetail)
            except ServiceFailure as exc:
                if exc.envelope.code not in MOVE_ERRORS:
                    raise
                errors["method"] = exc.envelope.detail or exc.envelope.title
            else:
                return page.redirect(f"/staff/applications/{app_id}?recorded=1")
    elif page.request.method == "POST":
        to = page.field("to")
        if not to:
            errors["to"] = page.t("staff_choose_status")
        else:
            move = apps.Transition(
                id=app_id, to=to,  # type: ignore[arg-type]  # the service names a status it does not know
                comment=page.field("comment").replace("\r\n", "\n"),
                counter_visit=page.field("counter_visit") == "1",
            )
            try:
                await page.fetch(PROCEDURES, apps.TRANSITION, move, apps.ApplicationDetail)
            except ServiceFailure as exc:
                if exc.envelope.code not in MOVE_ERRORS:
                    raise
                refused = exc
                errors = field_errors(exc, page.lang) if exc.envelope.fields else {"to": exc.envelope.detail or exc.envelope.title}
            else:
                return page.redirect(f"/staff/applications/{app_id}?moved=1")
    detail = await page.fetch(PROCEDURES, apps.GET, apps.GetApplication(id=app_id), apps.ApplicationDetail)
    if refused is not None and refused.envelope.code is ErrorCode.CONFLICT:
        # The service's reason is for machines; the caseworker reads it in words, with the moves
        # open now (someone may have moved it since the form was shown).
        errors["to"] = page.t(
            "staff_move_not_allowed", to=page.t(f"status_{page.field('to')}") if page.field("to") in STATUSES else page.field("to"),
            allowed="、".join(page.t(f"status_{s}") for s in detail.allowed_transitions) or page.t("staff_nothing"),
        )
    status = (refused.status if refused else 422) if errors else 200
    return page.render(
        "staff/application.html", status=status, detail=detail, answers=await _answers(page, detail),
        errors=errors, comment=page.field("comment"), overdue=is_overdue(detail.summary, today()),
        moved=bool(page.query("moved")), filed=bool(page.query("filed")), local=local,
    )


@pages.page("/staff/procedures", audience="staff")
async def procedures(page: ThisPage) -> PageReply:
    items = await offered(page)
    # One read per procedure for its department; concurrent, so the page costs one round trip.
    details = await asyncio.gather(*(
        page.fetch(PROCEDURES, procs.GET, procs.GetProcedure(code=p.code), procs.ProcedureDetail) for p in items
    ))
    return page.render("staff/procedures.html", items=details)


pages.include(staff_counter.pages)
pages.include(staff_payments.pages)
pages.include(staff_templates.pages)
pages.include(staff_broadcasts.pages)
