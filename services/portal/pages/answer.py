"""A resident answers the town: the caseworker asked for more (``needs_info``), the resident
replies with a message, a new file or corrected answers, and the application goes back to review.

The move is the resident's own (``needs_info → in_review``, ``Transition`` with ``comment`` and
``answers``); the procedures service checks it again and keeps the reply as the comment of that
status change in the application's hash-chained history. Works without JavaScript; a file attached
by a post that was refused is kept for the next one, as on the procedure form.
"""

from __future__ import annotations

from typing import Any

import msgspec

from contracts import applications as apps
from contracts.applications import Status
from contracts.catalog import FieldDef
from contracts.errors import ErrorCode, ServiceFailure, from_validation_error
from contracts.portal import PageReply
from contracts.subjects import PROCEDURES
from contracts.uploads import Upload
from services.portal import forms
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import Page, field_errors, local

pages = Pages()

#: The form field of the message; the service names it ``$.comment`` too.
MESSAGE = "comment"


def _limit() -> int:
    """The contract's limit for a transition's comment, so the page says what the service checks."""
    info = msgspec.inspect.type_info(apps.Transition)
    comment = next(f for f in info.fields if f.name == "comment")  # type: ignore[attr-defined]
    return int(comment.type.max_length)


LIMIT = _limit()


def question(detail: apps.ApplicationDetail) -> apps.StatusChange | None:
    """The latest move to needs_info: its comment is what the caseworker asks."""
    return next((step for step in reversed(detail.history) if step.to_status == Status.NEEDS_INFO), None)


def can_answer(detail: apps.ApplicationDetail) -> bool:
    return detail.summary.status == Status.NEEDS_INFO and Status.IN_REVIEW in detail.allowed_transitions


async def _fields(page: Page, detail: apps.ApplicationDetail) -> list[FieldDef]:
    """The procedure's fields the resident may send again, each optional here (only what they
    change is sent): what the verified identity says is never typed, as on the form."""
    try:
        procedure = await forms.procedure(page, detail.summary.code)
    except ServiceFailure as exc:
        if exc.envelope.code is not ErrorCode.NOT_FOUND:
            raise
        return []  # no longer offered: the message alone still answers
    return [
        msgspec.structs.replace(f, required=False)
        for f in procedure.fields
        if f.prefill in (None, "history") and f.name != MESSAGE
    ]


def _changed(page: Page, fields: list[FieldDef], attached: dict[str, Upload], filed: dict[str, Any]) -> dict[str, Any]:
    """The answers to send: each file attached now, and each other answer the resident changed."""
    posted = forms.answers(page, fields, attached)
    return {k: v for k, v in posted.items() if k in attached or str(v) != str(filed.get(k))}


@pages.page("/applications/{id:str}/answer", methods=("GET", "POST"), audience="resident")
async def answer(page: ThisPage, id: Segment) -> PageReply:
    detail = await page.fetch(PROCEDURES, apps.GET, apps.GetApplication(id=id), apps.ApplicationDetail)
    if not can_answer(detail):
        return page.redirect(f"/applications/{detail.summary.id}")
    fields = await _fields(page, detail)
    files = [f for f in fields if f.kind == "attachment"]
    corrections = [f for f in fields if f.kind != "attachment"]
    values: dict[str, Any] = {f.name: v for f in corrections if (v := detail.answers.get(f.name)) is not None}
    errors: dict[str, str] = {}
    attached: dict[str, Upload] = {}
    message = page.field(MESSAGE).replace("\r\n", "\n")
    if page.request.method == "POST":
        attached = forms.attached(page, files)
        values.update({f.name: page.field(f.name) for f in corrections if f.name in page.request.form})
        if not message:
            errors = {MESSAGE: page.t("answer_missing")}
        elif len(message) > LIMIT:
            errors = {MESSAGE: page.t("answer_too_long", limit=LIMIT, count=len(message))}
        else:
            move = {"id": detail.summary.id, "to": Status.IN_REVIEW, "comment": message,
                    "answers": _changed(page, fields, attached, detail.answers)}
            try:
                await page.fetch(PROCEDURES, apps.TRANSITION, msgspec.convert(move, apps.Transition), apps.ApplicationDetail)
            except msgspec.ValidationError as exc:
                errors = field_errors(from_validation_error(exc), page.lang)
            except ServiceFailure as exc:
                if exc.envelope.code not in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST) or not exc.envelope.fields:
                    raise
                errors = field_errors(exc, page.lang)
            else:
                return page.redirect(f"/applications/{detail.summary.id}?answered=1")
        # A file that was fine is kept for the next post; one the service refused is asked again.
        attached = {name: upload for name, upload in attached.items() if name not in errors}
    filed = {f.field: f for f in detail.attachments}
    return page.render(
        "answer.html",
        status=422 if errors else 200,
        detail=detail,
        asked=question(detail),
        message=message,
        limit=LIMIT,
        files=files,
        filed=filed,
        corrections=corrections,
        values=values,
        errors=errors,
        kept=attached,
        correcting=any(f.name in errors for f in corrections),
        local=local,
    )
