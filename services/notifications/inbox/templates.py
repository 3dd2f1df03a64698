"""Message templates: which placeholders each kind knows and needs, the regional defaults, rendering.

A template is plain text with ``{placeholder}`` fields (``{{`` and ``}}`` for literal braces).
Only the names below are allowed, with no attribute access, index, conversion or format spec:
templates are written by town staff, and rendering must never reach into Python objects.
Rendering substitutes the parsed fields itself instead of calling ``str.format``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from contracts.applications import Status
from contracts.errors import ErrorCode, FieldError, failure
from contracts.notifications import PutTemplate

SUBMITTED = "application.submitted"
STATUS_CHANGED = "application.status_changed"

#: Every placeholder a template may use, and what it stands for.
PLACEHOLDERS: dict[str, str] = {
    "procedure_name": "the procedure's name",
    "status": "the application's (new) status",
    "previous_status": "the status before the change",
    "town_name": "the town's name",
    "application_id": "the application's reference (受付番号, KTK-2026-000123-4; the id for filings from before)",
    "due_on": "the date the town aims to finish by",
    "message": "the caseworker's words with the change (what they ask for, why it was refused); empty when they wrote none",
}


@dataclass(frozen=True, slots=True)
class KindRules:
    #: Placeholders this kind may use.
    known: tuple[str, ...]
    #: Placeholders each body (Japanese and English) must contain.
    required: tuple[str, ...]


KINDS: dict[str, KindRules] = {
    SUBMITTED: KindRules(
        known=("procedure_name", "status", "town_name", "application_id"),
        required=("procedure_name", "application_id"),
    ),
    STATUS_CHANGED: KindRules(
        known=("procedure_name", "status", "previous_status", "town_name", "application_id", "due_on", "message"),
        required=("procedure_name", "status"),
    ),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    Status.AWAITING_PAYMENT: ("お支払い待ち", "awaiting payment"),
    Status.RECEIVED: ("受付", "received"),
    Status.IN_REVIEW: ("審査中", "in review"),
    Status.NEEDS_INFO: ("追加情報の依頼", "more information needed"),
    Status.APPROVED: ("承認", "approved"),
    Status.REJECTED: ("不承認", "not approved"),
    Status.ISSUED: ("交付済み", "issued"),
    Status.CLOSED: ("完了", "closed"),
    Status.WITHDRAWN: ("取下げ", "withdrawn"),
}


class Texts(msgspec.Struct, frozen=True, kw_only=True):
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str


_FOOTER_JA = "\n\n申請の状況はポータルの「申請」からご確認いただけます。\n{town_name}"
_FOOTER_EN = "\n\nYou can follow your application under “Applications” in the portal.\n{town_name}"

#: The region's default templates, used by every town that has not written its own.
DEFAULTS: dict[str, Texts] = {
    SUBMITTED: Texts(
        title_ja="【{town_name}】{procedure_name}の申請を受け付けました",
        body_ja="{procedure_name}の申請を受け付けました。\n受付番号: {application_id}" + _FOOTER_JA,
        title_en="[{town_name}] Your application for {procedure_name} was received",
        body_en=(
            "We received your application for {procedure_name}.\nApplication number: {application_id}" + _FOOTER_EN
        ),
    ),
    STATUS_CHANGED: Texts(
        title_ja="【{town_name}】{procedure_name}の申請状況: {status}",
        body_ja=(
            "{procedure_name}の申請の状況が「{previous_status}」から「{status}」に変わりました。\n"
            "受付番号: {application_id}" + _FOOTER_JA
        ),
        title_en="[{town_name}] Your application for {procedure_name}: {status}",
        body_en=(
            "The status of your application for {procedure_name} changed from “{previous_status}” to "
            "“{status}”.\nApplication number: {application_id}" + _FOOTER_EN
        ),
    ),
}

#: The region's defaults for a status change that comes with the caseworker's message, by the new
#: status: the message says what they ask for or why. Used while the town has no template of its
#: own; without a message (and for other statuses) the default above is used.
STATUS_DEFAULTS: dict[str, Texts] = {
    "needs_info": Texts(
        title_ja="【{town_name}】{procedure_name}の申請状況: {status}",
        body_ja=(
            "{procedure_name}の申請について、担当者から追加の情報をお願いしています（状況: {status}）。\n"
            "受付番号: {application_id}\n\n"
            "担当者からのメッセージ:\n{message}\n\n"
            "ポータルの「申請」でこの申請を開き、「回答する」から回答してください。" + _FOOTER_JA
        ),
        title_en="[{town_name}] Your application for {procedure_name}: {status}",
        body_en=(
            "The caseworker needs more from you about your application for {procedure_name} ({status}).\n"
            "Application number: {application_id}\n\n"
            "The caseworker's message:\n{message}\n\n"
            "Open the application under “Applications” in the portal and choose “Answer” to reply." + _FOOTER_EN
        ),
    ),
    "rejected": Texts(
        title_ja="【{town_name}】{procedure_name}の申請状況: {status}",
        body_ja=(
            "{procedure_name}の申請の状況が「{previous_status}」から「{status}」に変わりました。\n"
            "受付番号: {application_id}\n\n"
            "担当者からのメッセージ:\n{message}\n\n"
            "分からないことがあれば、担当の窓口にお問い合わせください。" + _FOOTER_JA
        ),
        title_en="[{town_name}] Your application for {procedure_name}: {status}",
        body_en=(
            "The status of your application for {procedure_name} changed from “{previous_status}” to “{status}”.\n"
            "Application number: {application_id}\n\n"
            "The caseworker's message:\n{message}\n\n"
            "If anything is unclear, please contact the office in charge." + _FOOTER_EN
        ),
    ),
}


def default_for(kind: str, status: str | None = None, message: str = "") -> Texts:
    """The regional default for ``kind``; for a status change with the caseworker's message, the
    one written for its new status when there is one."""
    if kind == STATUS_CHANGED and message and status in STATUS_DEFAULTS:
        return STATUS_DEFAULTS[status]
    return DEFAULTS[kind]


_FORMATTER = string.Formatter()
_TEXT_FIELDS = ("title_ja", "body_ja", "title_en", "body_en")
_BODIES = ("body_ja", "body_en")


def _fields(text: str) -> list[tuple[str, str | None, str | None]]:
    """``(literal, field, problem)`` pieces of ``text``; raises ValueError on unbalanced braces."""
    pieces = []
    for literal, field, spec, conversion in _FORMATTER.parse(text):
        problem = None
        if field is not None and (spec or conversion):
            problem = f"{{{field}}} takes no conversion or format"
        pieces.append((literal, field, problem))
    return pieces


def check(template: PutTemplate) -> None:
    """Refuse a template whose kind is unknown, or that uses an unknown or misses a required
    placeholder: a VALIDATION failure naming each offending field and placeholder."""
    rules = KINDS.get(template.kind)
    if rules is None:
        raise failure(ErrorCode.VALIDATION, "Unknown kind of message", f"no message kind {template.kind!r}; "
                      f"known: {', '.join(KINDS)}", [
            FieldError(field="$.kind", message_ja=f"メッセージの種類「{template.kind}」はありません。",
                       message_en=f"There is no message kind {template.kind!r}."),
        ])
    errors: list[FieldError] = []
    problems: list[str] = []
    for name in _TEXT_FIELDS:
        text = getattr(template, name)
        try:
            pieces = _fields(text)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            errors.append(FieldError(field=f"$.{name}", message_ja=f"波括弧の対応が正しくありません: {exc}",
                                     message_en=f"Unbalanced braces: {exc}"))
            continue
        used = set()
        for _literal, field, problem in pieces:
            if field is None:
                continue
            used.add(field)
            if problem:
                problems.append(f"{name}: {problem}")
                errors.append(FieldError(field=f"$.{name}", message_ja=f"差し込み項目 {{{field}}} に書式は指定できません。",
                                         message_en=problem))
            elif field not in rules.known:
                problems.append(f"{name}: unknown placeholder {{{field}}}")
                errors.append(FieldError(
                    field=f"$.{name}",
                    message_ja=f"差し込み項目 {{{field}}} は使えません。使える項目: {_names(rules.known)}",
                    message_en=f"Unknown placeholder {{{field}}}; known: {_names(rules.known)}",
                ))
        if name in _BODIES:
            for needed in rules.required:
                if needed not in used:
                    problems.append(f"{name}: missing placeholder {{{needed}}}")
                    errors.append(FieldError(
                        field=f"$.{name}",
                        message_ja=f"差し込み項目 {{{needed}}} が必要です。",
                        message_en=f"Missing placeholder {{{needed}}}",
                    ))
    if errors:
        raise failure(ErrorCode.VALIDATION, "Template refused", "; ".join(problems), errors)


def _names(fields: tuple[str, ...]) -> str:
    return ", ".join(f"{{{f}}}" for f in fields)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill ``text``'s placeholders from ``values`` (a stored template has passed :func:`check`)."""
    out = []
    for literal, field, _problem in _fields(text):
        out.append(literal)
        if field is not None:
            out.append(values.get(field, ""))
    return "".join(out)


def render_all(texts: Texts, values_ja: Mapping[str, str], values_en: Mapping[str, str]) -> Texts:
    return Texts(
        title_ja=render(texts.title_ja, values_ja),
        body_ja=render(texts.body_ja, values_ja),
        title_en=render(texts.title_en, values_en),
        body_en=render(texts.body_en, values_en),
    )
