"""Counter filing (窓口申請): a caseworker files for a resident at the desk, so that nobody who
cannot use a phone is left behind. The filing joins the same queue as online ones.

The resident's name, address and birth date are what the caseworker confirmed at the desk
(``CounterApplicant``); the procedures service fills the form's identity fields from them.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date

import msgspec

from contracts import applications as apps
from contracts import headers as h
from contracts.errors import ErrorCode, ServiceFailure, from_validation_error
from contracts.portal import PageReply
from contracts.subjects import PROCEDURES
from services.portal import forms
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import Page

pages = Pages()

#: Form fields the counter applicant answers for: shown once, as the resident at the desk.
IDENTITY = frozenset({"name", "address", "birthdate"})
APPLICANT_FIELDS = ("counter_name", "counter_address", "counter_birthdate", "counter_link_code")
#: A birth date as clerks type it: 1950-4-1, 1950/04/01 or 1950.4.1 (Western years) …
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
#: … or as the resident says it, in the Japanese era: 昭和16年3月9日, S16.3.9, 平成元年1月8日.
_ERA_DATE = re.compile(r"^(明治|大正|昭和|平成|令和|[MTSHR])(\d{1,2}|元)[年.\-/](\d{1,2})[月.\-/](\d{1,2})日?$")
#: Each era's first day; an era's dates end where the next one begins.
ERAS = {
    "明治": date(1868, 10, 23), "大正": date(1912, 7, 30), "昭和": date(1926, 12, 25),
    "平成": date(1989, 1, 8), "令和": date(2019, 5, 1),
}
_ERA_LETTERS = dict(zip("MTSHR", ERAS, strict=True))


def _birthdate(text: str) -> str | None:
    """The ISO date of a typed birth date, or None when it is not a real date."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper()
    try:
        if found := _DATE.match(text):
            return date(*(int(g) for g in found.groups())).isoformat()
        if found := _ERA_DATE.match(text):
            era = _ERA_LETTERS.get(found.group(1), found.group(1))
            year = 1 if found.group(2) == "元" else int(found.group(2))
            day = date(ERAS[era].year + year - 1, int(found.group(3)), int(found.group(4)))
            following = [start for start in ERAS.values() if start > ERAS[era]]
            if day < ERAS[era] or (following and day >= following[0]):
                return None  # 昭和70年 does not exist: the clerk misheard, ask again
            return day.isoformat()
    except ValueError:
        return None
    return None


def _applicant(page: Page) -> tuple[apps.CounterApplicant | None, dict[str, str]]:
    """The resident at the desk from the form; every missing or bad field named at once."""
    errors: dict[str, str] = {}
    for name in ("counter_name", "counter_address", "counter_birthdate"):
        if not page.field(name):
            errors[name] = page.t("staff_birthdate_bad" if name == "counter_birthdate" else "staff_fill_in")
    birthdate = _birthdate(page.field("counter_birthdate"))
    if page.field("counter_birthdate") and birthdate is None:
        errors["counter_birthdate"] = page.t("staff_birthdate_bad")
    if errors:
        return None, errors
    raw = {"name": page.field("counter_name"), "address": page.field("counter_address"), "birthdate": birthdate,
           "link_code": page.field("counter_link_code").replace(" ", "") or None}
    try:
        return msgspec.convert(raw, apps.CounterApplicant), {}
    except msgspec.ValidationError as exc:
        return None, _named(from_validation_error(exc), page.lang)


def _named(failure: ServiceFailure, lang: str) -> dict[str, str]:
    """A service's field errors by this form's names: the applicant's as ``counter_*``, answers by their own."""
    found: dict[str, str] = {}
    for error in failure.envelope.fields:
        path = error.field.removeprefix("$.")
        if path.startswith("counter_applicant."):
            name = "counter_" + path.split(".")[1]
        elif path in ("name", "address", "birthdate", "link_code"):
            name = "counter_" + path
        else:
            name = path.removeprefix("answers.").split(".")[0].split("[")[0] or "$"
        found.setdefault(name, error.message_en if lang == "en" else error.message_ja)
    return found


@pages.page("/staff/counter", audience="staff")
async def choose(page: ThisPage) -> PageReply:
    items = [p for p in await forms.catalog(page) if not p.located]
    return page.render("staff/counter_choose.html", items=items)


@pages.page("/staff/counter/{code:str}", methods=("GET", "POST"), audience="staff")
async def counter(page: ThisPage, code: Segment) -> PageReply:
    detail = await forms.procedure(page, code)
    attachments = any(f.kind == "attachment" and f.required for f in detail.fields)
    skip = {f.name for f in detail.fields if f.prefill in IDENTITY}
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if page.request.method == "POST" and not (attachments or detail.located):
        values = {k: page.field(k) for k in page.request.form}
        applicant, errors = _applicant(page)
        if applicant is not None:
            shown = [f for f in detail.fields if f.name not in skip]
            filing = apps.SubmitApplication(code=detail.code, answers=forms.answers(page, shown), counter_applicant=applicant)
            try:
                submitted = await page.fetch(
                    PROCEDURES, apps.SUBMIT, filing, apps.Submitted,
                    headers={h.IDEMPOTENCY_KEY: page.field("idempotency_key") or str(uuid.uuid4())},
                )
            except ServiceFailure as exc:
                if exc.envelope.code not in (ErrorCode.VALIDATION, ErrorCode.BAD_REQUEST) or not exc.envelope.fields:
                    raise
                errors = _named(exc, page.lang)
            else:
                return page.redirect(f"/staff/applications/{submitted.application.id}?filed=1")
    return page.render(
        "staff/counter.html", status=422 if errors else 200, detail=detail, values=values, errors=errors,
        skip=skip, attachments=attachments, applicant_fields=APPLICANT_FIELDS,
        idempotency_key=page.field("idempotency_key") or str(uuid.uuid4()),
    )
