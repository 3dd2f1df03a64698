"""The residents' pages: home, the catalog and its search, a procedure's form, applications,
the inbox, notification preferences and display settings. Each works without JavaScript."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec

from contracts import applications as apps
from contracts import headers as h
from contracts import notifications as notes
from contracts import payments
from contracts import procedures as procs
from contracts.applications import Status
from contracts.catalog import FieldDef
from contracts.errors import ErrorCode, ErrorEnvelope, FieldError, ServiceFailure, from_validation_error
from contracts.portal import Display, PageReply
from contracts.subjects import NOTIFICATIONS, PROCEDURES
from contracts.uploads import Upload
from services.portal import forms, search
from services.portal.pages import push
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import Page, field_errors, local

pages = Pages()


@pages.page("/")
async def home(page: ThisPage) -> PageReply:
    from services.portal.pages import news

    items = await forms.catalog(page)
    recent = await news.for_home(page)
    popular = [p for p in items if p.category == "certificates"][:4] or items[:4]
    return page.render("home.html", popular=popular, news=recent, local=local)


@pages.page("/procedures")
async def catalog(page: ThisPage) -> PageReply:
    q = page.query("q")[:100]
    items = await forms.catalog(page)
    found = search.search_catalog(items, q, keywords=_keywords(page), limit=30) if q else items
    return page.render("procedures.html", items=found, q=q, searched=bool(q))


def _keywords(page: Page) -> dict[str, list[str]]:
    """The regional catalog's search words by procedure (the town's list carries none)."""
    return {p.code: p.keywords_ja for p in page.site.region.catalog.procedures}


@pages.page("/procedures/{code:str}", methods=("GET", "POST"))
async def procedure(page: ThisPage, code: Segment) -> PageReply:
    """The form, then "check your answers", then filing: three steps, no JavaScript.

    The answers travel in the form's fields from step to step (a file as its upload's id), so
    nothing is kept on the server until the resident confirms; the idempotency key travels too,
    so a double tap on 申請する is still one application."""
    detail = await forms.procedure(page, code)
    if detail.located:
        return page.redirect(f"/report/{detail.code}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    errors: dict[str, str] = {}
    needs_card = detail.assurance == "jpki" and (page.principal is None or page.principal.acr != "jpki")
    can_apply = page.has_role("resident") and not needs_card
    attached: dict[str, Upload] = {}
    if can_apply:
        prefilled = await page.fetch(PROCEDURES, procs.PREFILL, procs.Prefill(code=detail.code), procs.PrefilledForm)
        values, sources = dict(prefilled.values), prefilled.sources
    # What the verified identity says is shown, not asked: the service takes it from the token.
    verified = {name for name, source in sources.items() if source != "history"}
    key = page.field("idempotency_key") or str(uuid.uuid4())
    if page.request.method == "POST" and can_apply:
        attached = forms.attached(page, detail.fields)
        answers = {k: v for k, v in forms.answers(page, detail.fields, attached).items() if k not in verified}
        chosen = page.field("payment")
        filing = apps.SubmitApplication(code=detail.code, answers=answers,
                                        payment=payments.PaymentChoice(chosen) if chosen in tuple(payments.PaymentChoice) else None)
        try:
            if page.field("change"):
                pass  # back to the form with the answers as they were, at the field to change
            elif page.field("step") == "confirm":
                if filing.payment is None and page.field("payment_asked"):
                    return await _check_page(page, detail, filing, values, verified, key, attached,
                                             {"payment": page.t("pay_choose")})
                submitted = await page.fetch(PROCEDURES, apps.SUBMIT, filing, apps.Submitted, headers={h.IDEMPOTENCY_KEY: key})
                if submitted.application.status == Status.AWAITING_PAYMENT:
                    return await _to_payment(page, submitted.application.id, "?received=1&unavailable=1")
                return page.redirect(f"/applications/{submitted.application.id}?received=1")
            else:
                return await _check_page(page, detail, filing, values, verified, key, attached, {})
        except ServiceFailure as exc:
            if exc.envelope.code not in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST) or not exc.envelope.fields:
                raise
            errors = field_errors(exc, page.lang)
            if set(errors) == {"payment"}:  # everything else was right: the check page again, at the choice
                return await _check_page(page, detail, filing, values, verified, key, attached, errors)
        values.update({f.name: page.field(f.name) for f in detail.fields if f.name not in verified and f.kind != "attachment"})
        attached = {name: upload for name, upload in attached.items() if name not in errors}
    return page.render(
        "procedure.html",
        status=422 if errors else 200,
        detail=detail,
        values=values,
        sources=sources,
        verified=verified,
        errors=errors,
        needs_card=needs_card,
        can_apply=can_apply,
        kept=attached,
        idempotency_key=key,
    )


async def _check_page(page: Page, detail: procs.ProcedureDetail, filing: apps.SubmitApplication, values: dict[str, Any],
                      verified: set[str], key: str, attached: dict[str, Upload], errors: dict[str, str]) -> PageReply:
    checked = await page.fetch(PROCEDURES, apps.CHECK, filing, apps.CheckedApplication)
    return page.render("check_answers.html", status=422 if errors else 200, detail=detail,
                       rows=_rows(page, detail, checked, values, verified), fee=checked.fee, fee_per=_fee_per(detail),
                       online_payment=checked.online_payment, payment=filing.payment, errors=errors,
                       idempotency_key=key, kept=attached)


async def _to_payment(page: Page, application_id: str, otherwise: str) -> PageReply:
    """To the payment provider's page for the fee; if it cannot be opened now, to the
    application's page (``otherwise``), where the fee can be paid later."""
    origin = page.request.origin
    try:
        if not origin:
            raise ServiceFailure(ErrorEnvelope(code=ErrorCode.UNAVAILABLE, title="No portal address known"))
        opened = await page.fetch(PROCEDURES, payments.PAY, payments.StartPayment(
            application_id=application_id, return_origin=origin), payments.PaymentPage)
    except ServiceFailure as exc:
        if exc.envelope.code not in (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT, ErrorCode.CONFLICT):
            raise
        return page.redirect(f"/applications/{application_id}{otherwise}")
    return page.redirect(opened.url)


class AnswerRow(msgspec.Struct, frozen=True, kw_only=True):
    """One line of "check your answers": what was asked, what was answered, and whether it can change."""

    name: str
    label: str
    shown: str
    #: What the form posts again (the typed text; for a file, nothing: it travels as its upload).
    posted: str
    changeable: bool


def _rows(page: Page, detail: procs.ProcedureDetail, checked: apps.CheckedApplication,
          prefilled: dict[str, Any], verified: set[str]) -> list[AnswerRow]:
    """Every question of the form with its answer as it will be filed, in the form's order."""
    files = {a.field: a.filename for a in checked.attachments}
    rows = []
    for f in detail.fields:
        value = checked.answers.get(f.name, prefilled.get(f.name) if f.name in verified else None)
        if f.kind == "attachment":
            shown = files.get(f.name, "")
        elif f.kind == "choice":
            shown = next((page.pick(c.label_ja, c.label_en) for c in f.choices if c.value == str(value)), "")
        elif f.kind == "date" and value:
            shown = _date(str(value), page.lang)
        else:
            shown = "" if value is None else str(value)
        rows.append(AnswerRow(name=f.name, label=page.pick(f.label_ja, f.label_en), shown=shown,
                              posted="" if f.kind == "attachment" or f.name in verified else page.field(f.name),
                              changeable=f.name not in verified))
    return rows


def _date(iso: str, lang: str) -> str:
    """``2026-12-10`` as people write it: 2026年12月10日 / 10 December 2026."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.year}年{day.month}月{day.day}日" if lang == "ja" else day.strftime("%-d %B %Y")


def _fee_per(detail: procs.ProcedureDetail) -> FieldDef | None:
    return next((f for f in detail.fields if f.name == detail.fee_per), None)


@pages.page("/applications", audience="resident")
async def my_applications(page: ThisPage) -> PageReply:
    listed = await page.fetch(PROCEDURES, apps.LIST, apps.ListApplications(limit=100), apps.ApplicationList)
    return page.render("applications.html", items=listed.items, local=local)


@pages.page("/counter-code", methods=("GET", "POST"), audience="resident")
async def counter_code(page: ThisPage) -> PageReply:
    """The code a resident shows at the desk, so a filing made there joins their own list."""
    issued = None
    if page.request.method == "POST":
        issued = await page.fetch(PROCEDURES, apps.COUNTER_CODE, apps.IssueCounterCode(), apps.CounterCode)
    return page.render("counter_code.html", issued=issued, local=local)


@pages.page("/applications/{id:str}", audience="resident")
async def application(page: ThisPage, id: Segment) -> PageReply:
    wanted = id
    if page.query("paid"):
        # Back from the provider's page: looked up there now, not left to its notification.
        detail = await page.fetch(PROCEDURES, payments.CONFIRM, payments.ConfirmPayment(application_id=wanted[:36]),
                                  apps.ApplicationDetail)
    else:
        detail = await page.fetch(PROCEDURES, apps.GET, apps.GetApplication(id=wanted), apps.ApplicationDetail)
    receipt = None
    if page.query("received"):
        receipt = await page.fetch(PROCEDURES, apps.RECEIPT, apps.GetApplication(id=detail.summary.id), apps.Receipt)
    return page.render("application.html", detail=detail, receipt=receipt, local=local)


@pages.page("/applications/{id:str}/pay", methods=("POST",), audience="resident")
async def pay(page: ThisPage, id: Segment) -> PageReply:
    """Pay the fee now (or again, after a page that ran out): to the provider's page."""
    return await _to_payment(page, id[:36], "?unavailable=1")


@pages.page("/applications/{id:str}/withdraw", methods=("GET", "POST"), audience="resident")
async def withdraw(page: ThisPage, id: Segment) -> PageReply:
    """Ask once, then withdraw: the move is the resident's own (the service allows it while undecided)."""
    detail = await page.fetch(PROCEDURES, apps.GET, apps.GetApplication(id=id), apps.ApplicationDetail)
    if Status.WITHDRAWN not in detail.allowed_transitions:
        return page.redirect(f"/applications/{detail.summary.id}")
    errors: dict[str, str] = {}
    if page.request.method == "POST":
        move = {"id": detail.summary.id, "to": Status.WITHDRAWN, "comment": page.field("reason").replace("\r\n", "\n")}
        try:
            await page.fetch(PROCEDURES, apps.TRANSITION, msgspec.convert(move, apps.Transition), apps.ApplicationDetail)
        except msgspec.ValidationError as exc:
            errors = {"reason": _said(from_validation_error(exc), page.lang)}
        except ServiceFailure as exc:
            if exc.envelope.code is not ErrorCode.VALIDATION or not exc.envelope.fields:
                raise
            errors = {"reason": _said(exc, page.lang)}
        else:
            return page.redirect(f"/applications/{detail.summary.id}?withdrawn=1")
    return page.render("withdraw.html", status=422 if errors else 200, detail=detail, errors=errors,
                       reason=page.field("reason"))


def _said(failure: ServiceFailure, lang: str) -> str:
    error = failure.envelope.fields[0]
    return error.message_en if lang == "en" else error.message_ja


@pages.page("/applications/{id:str}/files/{field:str}", audience="resident")
async def attached_file(page: ThisPage, id: Segment, field: Segment) -> PageReply:
    """A file the resident filed, handed over through the uploads bucket."""
    return await send_attachment(page, id, field)


async def send_attachment(page: Page, id: str, field: str) -> PageReply:
    wanted = apps.GetAttachment(id=id, field=field[:48])
    return PageReply(file=await page.fetch(PROCEDURES, apps.ATTACHMENT, wanted, Upload))


@pages.page("/applications/{id:str}/receipt", audience="resident")
async def receipt(page: ThisPage, id: Segment) -> PageReply:
    detail = await page.fetch(PROCEDURES, apps.GET, apps.GetApplication(id=id), apps.ApplicationDetail)
    signed = await page.fetch(PROCEDURES, apps.RECEIPT, apps.GetApplication(id=detail.summary.id), apps.Receipt)
    return page.render("receipt.html", detail=detail, receipt=signed, local=local)


@pages.page("/inbox", audience="resident")
async def inbox(page: ThisPage) -> PageReply:
    listed = await page.fetch(NOTIFICATIONS, notes.INBOX, notes.ListInbox(limit=100), notes.InboxList)
    return page.render("inbox.html", items=listed.items, unread=listed.unread, local=local)


@pages.page("/inbox/{id:str}/read", methods=("POST",), audience="resident")
async def mark_read(page: ThisPage, id: Segment) -> PageReply:
    await page.fetch(NOTIFICATIONS, notes.READ, notes.MarkRead(id=id), notes.InboxMessage)
    return page.redirect("/inbox")


#: The channels a resident may choose, in the order offered (the inbox is always on).
OUTBOUND = tuple(notes.OutboundChannel)


@pages.page("/preferences", methods=("GET", "POST"), audience="resident")
async def preferences(page: ThisPage) -> PageReply:
    errors: dict[str, str] = {}
    saved = False
    if page.request.method == "POST":
        chosen = [c for c in OUTBOUND if c in page.fields("channels")]
        try:
            current = await page.fetch(
                NOTIFICATIONS, notes.SET_PREFERENCES,
                _preferences(chosen, page.field("email") or None), notes.Preferences,
            )
            saved = True
        except ServiceFailure as exc:
            if not exc.envelope.fields:
                raise
            errors = field_errors(exc, page.lang)
            current = notes.Preferences(channels=[notes.Channel.INBOX, *(notes.Channel(c) for c in chosen)], email=None)
    else:
        current = await page.fetch(NOTIFICATIONS, notes.PREFERENCES, notes.GetPreferences(), notes.Preferences)
    offered = list(OUTBOUND)
    return page.render("preferences.html", status=422 if errors else 200, prefs=current, errors=errors,
                       saved=saved or bool(page.query("push")), offered=offered, push_key=await push.public_key(page),
                       email=page.field("email") or (current.email or ""))


#: Plain words for what the preferences form can get wrong, by the contract's field.
PREFERENCE_ERRORS = {
    "email": ("メールアドレスの形が正しくありません。例：taro@example.jp", "That email address does not look right. For example: taro@example.jp"),
    "channels": ("選べない通知方法が含まれています。", "One of the chosen ways to be reached is not offered."),
}


def _preferences(channels: list[notes.OutboundChannel], email: str | None) -> notes.Preferences:
    # Through the contract's own decoder, so an unknown channel or a bad address is named.
    try:
        return msgspec.convert({"channels": ["inbox", *channels], "email": email}, notes.Preferences)
    except msgspec.ValidationError as exc:
        field = "email" if "$.email" in str(exc) else "channels"
        ja, en = PREFERENCE_ERRORS[field]
        raise ServiceFailure(ErrorEnvelope(code=ErrorCode.VALIDATION, title="Invalid preferences",
                                           fields=[FieldError(field=f"$.{field}", message_ja=ja, message_en=en)])) from exc


@pages.page("/settings", methods=("GET", "POST"), audience="any")
async def settings(page: ThisPage) -> PageReply:
    if page.request.method == "POST":
        chosen = Display(
            lang="en" if page.field("lang") == "en" else "ja",
            text="large" if page.field("text") == "large" else "standard",
        )
        return page.redirect("/settings?saved=1", display=chosen)
    return page.render("settings.html", saved=bool(page.query("saved")))
