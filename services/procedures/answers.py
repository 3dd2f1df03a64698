"""A procedure's answers, checked and normalised when an application is submitted.

Every failing field is reported at once, in plain Japanese first and English second: a resident
(often elderly) or a counter clerk then fixes the whole form in one go instead of meeting one
error per attempt. Values are stored in one canonical spelling (half-width digits, ISO dates,
``NNN-NNNN`` postal codes, phone digits only) whatever keyboard or IME produced them, so staff,
receipts and later prefill all see the same thing.

The messages are the procedures service's catalogues (``locale/<lang>/LC_MESSAGES/messages.po``,
see services/runtime/catalogue.py); each fills the contract's ``message_ja`` and ``message_en``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from contracts.catalog import FieldDef
from contracts import text as text_policy
from contracts.errors import ErrorCode, FieldError, failure
from contracts.uploads import FILE_KINDS, MAX_FILE_BYTES, UploadedAnswer
from services.runtime.catalogue import Catalogue
from services.runtime.files import Uploaded

TOKYO = ZoneInfo("Asia/Tokyo")
MESSAGES = Catalogue(Path(__file__).parent / "locale")

Value = str | int | float


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """How an attachment arrives inside the answers JSON."""

    filename: str
    media_type: str
    content_base64: str


class StoredAttachment(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    filename: str
    media_type: str
    size: int
    #: Hex SHA-256 of ``content``. It also stands for the file in ``ValidAnswers.values``, so the
    #: stored answers show exactly which file was submitted, and any later change to it shows.
    sha256: str
    content: bytes


class ValidAnswers(msgspec.Struct, frozen=True, kw_only=True):
    values: dict[str, Value]
    attachments: list[StoredAttachment]


#: A value that reads differently by language (a list of labels, an era's name), given the language.
ByLanguage = Callable[[str], str]


class _Rejected(Exception):
    """A refusal: its catalogue key, the field (its label in the reader's language fills
    ``{label}``) and the other values, each a value or a ``ByLanguage``."""

    def __init__(self, key: str, field: FieldDef | None = None, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.field = field
        self.values = values

    def message(self, lang: str) -> str:
        values = {name: value(lang) if callable(value) else value for name, value in self.values.items()}
        if self.field is not None:
            values["label"] = _in(lang, self.field.label_ja, self.field.label_en)
        return MESSAGES.text(self.key, lang, **values)


def _in(lang: str, ja: str, en: str) -> str:
    """A town's own text (a label) in the reader's language: it has Japanese and English only."""
    return en if lang == "en" else ja


def _listed(items: Callable[[str], list[str]]) -> ByLanguage:
    """Items one after the other, as the language separates them (、 or a comma)."""
    return lambda lang: MESSAGES.text("list_separator", lang).join(items(lang))


# Control characters break receipts, CSV exports and printed letters; lone surrogates cannot be
# encoded as UTF-8 at all, so storing them would fail later, far from the resident.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs"})
# What Japanese IMEs and phones produce where a hyphen is meant (the katakana long-vowel mark
# is the usual slip), after NFKC has already folded the full-width forms.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))
_NUMBER = re.compile(r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?")
# Past 15 digits a float is no longer exact, and no form quantity comes near it.
_NUMBER_LIMIT = 10**15
_DATE_NUMERIC = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})")
_DATE_WRITTEN = re.compile(r"(?:(大正|昭和|平成|令和)(元|[0-9]{1,2})|([0-9]{4}))年([0-9]{1,2})月([0-9]{1,2})日")
# Each era's first day, and its name's key in the catalogue. 大正 costs one row, and the oldest
# residents were born in it.
_ERAS = {
    "大正": (dt.date(1912, 7, 30), "era_taisho"),
    "昭和": (dt.date(1926, 12, 25), "era_showa"),
    "平成": (dt.date(1989, 1, 8), "era_heisei"),
    "令和": (dt.date(2019, 5, 1), "era_reiwa"),
}
_EARLIEST = dt.date(1900, 1, 1)
_LATEST = dt.date(2100, 12, 31)
_POSTAL = re.compile(r"〒?([0-9]{3})-?([0-9]{4})")
_PHONE = re.compile(r"[0-9() -]+")
_ADDRESS_MAX = 200
_FILENAME_MAX = 255
# The ceiling FieldDef allows; loading the catalog already requires max_bytes on attachments,
# this only keeps a hand-built FieldDef from accepting files of any size.
_ATTACHMENT_CEILING = MAX_FILE_BYTES
# Declared media types are chosen by the client; these are checked against the file itself.
_SIGNATURES = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
}


def validate_answers(
    fields: Sequence[FieldDef],
    answers: Mapping[str, Any],
    uploaded: Mapping[str, Uploaded] | None = None,
    kept: Mapping[str, str] | None = None,
) -> ValidAnswers:
    """Check ``answers`` against ``fields``; raise one VALIDATION failure naming every bad field.

    ``uploaded``: the files read back for the uploads that attachment answers name, by upload id.
    ``kept``: attachments already filed (their SHA-256 by field), which stand as they are."""
    values: dict[str, Value] = {}
    attachments: list[StoredAttachment] = []
    errors: list[FieldError] = []
    for field in fields:
        value = answers.get(field.name)
        if _blank(value):
            if field.required:
                errors.append(_error(field.name, _missing(field)))
            continue
        try:
            if field.kind == "attachment" and kept and value == kept.get(field.name):
                values[field.name] = value
            elif field.kind == "attachment":
                stored = _attachment(field, value, uploaded or {})
                attachments.append(stored)
                values[field.name] = stored.sha256
            else:
                values[field.name] = _SCALARS[field.kind](field, value)
        except _Rejected as rejected:
            errors.append(_error(field.name, rejected))
    known = {field.name for field in fields}
    for name in answers:
        if name not in known:
            errors.append(_error(str(name), _Rejected("unknown_field", name=name)))
    if errors:
        raise failure(ErrorCode.VALIDATION, "Invalid answers", f"{len(errors)} answer(s) need correcting", errors)
    return ValidAnswers(values=values, attachments=attachments)


def _error(name: str, rejected: _Rejected) -> FieldError:
    return FieldError(field=f"$.answers.{name}", message_ja=rejected.message("ja"), message_en=rejected.message("en"))


def _blank(value: Any) -> bool:
    # str.strip also removes the full-width space (U+3000) a Japanese keyboard types.
    return value is None or (isinstance(value, str) and not value.strip())


def _missing(field: FieldDef) -> _Rejected:
    if field.kind == "choice":
        return _Rejected("missing_choice", field)
    if field.kind == "attachment":
        return _Rejected("missing_attachment", field)
    return _Rejected("missing", field)


def _string(value: Any, wrong: _Rejected) -> str:
    if not isinstance(value, str):
        raise wrong
    return value


def _halfwidth(text: str) -> str:
    """Full-width digits, letters and signs as half-width, every dash as ``-``, trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES).strip()


def _forbidden(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES and c not in allowed for c in text)


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _text(field: FieldDef, value: Any) -> str:
    wrong = _Rejected("text_not_text", field)
    # NFC: a name typed on a Mac can arrive with separate voiced marks (か + ゛); it is the same
    # text, and should count and compare as the same.
    text = unicodedata.normalize("NFC", _string(value, wrong).replace("\r\n", "\n")).strip()
    if _forbidden(text, allowed="\n"):
        raise _Rejected("text_control", field)
    if field.max_length is not None and len(text) > field.max_length:
        raise _Rejected("too_long", field, limit=field.max_length, length=len(text))
    return text


def _number(field: FieldDef, value: Any) -> int | float:
    wrong = _Rejected("number_wrong", field)
    number: int | float
    if isinstance(value, bool):  # JSON true/false; bool is an int subclass in Python
        raise wrong
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        text = _halfwidth(value)
        if not _NUMBER.fullmatch(text):
            raise wrong
        number = float(text) if "." in text else int(text)
    else:
        raise wrong
    # The size test comes first: math.isfinite cannot convert an int too large for a float.
    if abs(number) >= _NUMBER_LIMIT or not math.isfinite(number):
        raise wrong
    low, high = field.minimum, field.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            raise _Rejected("number_between", field, low=_show(low), high=_show(high))
        if low is not None:
            raise _Rejected("number_at_least", field, low=_show(low))
        raise _Rejected("number_at_most", field, high=_show(high))
    return number


def _date(field: FieldDef, value: Any) -> str:
    wrong = _Rejected("date_wrong", field)
    text = "".join(_halfwidth(_string(value, wrong)).split())
    era: str | None = None
    if numeric := _DATE_NUMERIC.fullmatch(text):
        year, month, day = int(numeric[1]), int(numeric[3]), int(numeric[4])
    elif written := _DATE_WRITTEN.fullmatch(text):
        era, month, day = written[1], int(written[4]), int(written[5])
        if era is None:
            year = int(written[3])
        else:
            year = _ERAS[era][0].year + (1 if written[2] == "元" else int(written[2])) - 1
    else:
        raise wrong
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise _Rejected("date_unreal", field, year=year, month=month, day=day) from None
    if era is not None:
        _check_era(field, era, date)
    if not _EARLIEST <= date <= _LATEST:
        raise _Rejected("date_range", field)
    _check_window(field, date)
    return date.isoformat()


def _check_window(field: FieldDef, date: dt.date) -> None:
    """The procedure's legal window for the date, from the day of filing in Japan."""
    today = dt.datetime.now(TOKYO).date()
    earliest = today + dt.timedelta(days=field.from_days) if field.from_days is not None else None
    latest = today + dt.timedelta(days=field.to_days) if field.to_days is not None else None
    if earliest is not None and latest is not None and not earliest <= date <= latest:
        raise _Rejected("date_window", field, earliest=earliest, latest=latest)
    if latest is not None and date > latest:
        raise _Rejected("date_after_today" if field.to_days == 0 else "date_after", field, latest=latest)
    if earliest is not None and date < earliest:
        raise _Rejected("date_before", field, earliest=earliest)


def _check_era(field: FieldDef, era: str, date: dt.date) -> None:
    """平成32年 or 昭和64年2月 name days that never existed: the era had already ended."""
    start, name = _ERAS[era]
    later = [s for s, _ in _ERAS.values() if s > start]
    end = min(later) - dt.timedelta(days=1) if later else None
    if date < start or (end is not None and date > end):
        raise _Rejected(
            "era_ended" if end else "era_current", field, era=lambda lang: MESSAGES.text(name, lang), start=start, end=end,
        )


def _choice(field: FieldDef, value: Any) -> str:
    labels = _listed(lambda lang: [MESSAGES.text("choice_item", lang, label=_in(lang, c.label_ja, c.label_en)) for c in field.choices])
    wrong = _Rejected("choice_wrong", field, choices=labels)
    text = _string(value, wrong).strip()
    if text not in {c.value for c in field.choices}:
        raise wrong
    return text


def _address(field: FieldDef, value: Any) -> str:
    limit = min(field.max_length or _ADDRESS_MAX, _ADDRESS_MAX)
    wrong = _Rejected("address_not_text", field)
    text = unicodedata.normalize("NFC", _string(value, wrong)).strip()
    # An address is one line on an envelope, so a newline is refused too.
    if _forbidden(text):
        raise _Rejected("address_one_line", field)
    if len(text) > limit:
        raise _Rejected("too_long", field, limit=limit, length=len(text))
    return text


def _postal_code(field: FieldDef, value: Any) -> str:
    wrong = _Rejected("postal_code_wrong", field)
    match = _POSTAL.fullmatch("".join(_halfwidth(_string(value, wrong)).split()))
    if match is None:
        raise wrong
    return f"{match[1]}-{match[2]}"


def _phone(field: FieldDef, value: Any) -> str:
    """Stored as the digits only.

    Where the hyphens go depends on the area code (0242-22-…, 024-…, 090-…), so the resident's
    own hyphens are not reliable, and placing them correctly needs the national numbering table.
    Digits only is canonical: the same number always compares equal, and it dials as it is.
    """
    wrong = _Rejected("phone_wrong", field)
    text = _halfwidth(_string(value, wrong))
    international = text.startswith("+81")
    rest = text.removeprefix("+81")
    if not _PHONE.fullmatch(rest):
        raise wrong
    digits = "".join(c for c in rest if c.isdigit())
    if international:
        # "+81 (0)90 …" already writes the domestic trunk 0; "+81 90 …" leaves it out.
        digits = "0" + digits.removeprefix("0")
    # "00" starts an international call from Japan, never a domestic number.
    if len(digits) not in (10, 11) or not digits.startswith("0") or digits.startswith("00"):
        raise wrong
    return digits


def _size(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:g} MB"
    return f"{limit / 1_000:g} KB" if limit >= 1_000 else f"{limit} B"


def _attachment(field: FieldDef, value: Any, uploaded: Mapping[str, Uploaded]) -> StoredAttachment:
    """A file sent in the answers (base64) or attached in the portal (an upload's id)."""
    unreadable = _Rejected("file_unreadable", field)
    limit = field.max_bytes or _ATTACHMENT_CEILING
    too_big = _Rejected("file_too_big", field, size=_size(limit))
    content: bytes | None
    uploaded_here = isinstance(value, dict) and "upload" in value
    if uploaded_here:
        try:
            ref = msgspec.convert(value, UploadedAnswer)
        except msgspec.ValidationError:
            raise unreadable from None
        found = uploaded.get(ref.upload)
        if found is None:
            raise _Rejected("file_expired", field)
        raw_filename, raw_media_type, content = found.filename, found.media_type, found.content
    else:
        try:
            upload = msgspec.convert(value, Attachment)
        except msgspec.ValidationError:
            raise unreadable from None
        raw_filename, raw_media_type, content = upload.filename, upload.media_type, None
    # NFC: Safari on a Mac sends Japanese file names with separate voiced marks.
    filename = unicodedata.normalize("NFC", raw_filename).strip()
    if (
        not filename
        or len(filename) > _FILENAME_MAX
        or "/" in filename
        or "\\" in filename
        or filename in (".", "..")
        or _forbidden(filename)
        or not text_policy.is_name(filename)  # no bidi controls: "report\u202egpj.exe" shows as "reportexe.jpg"
    ):
        raise _Rejected("file_name", field, limit=_FILENAME_MAX)
    allowed = [t.lower() for t in field.media_types]
    kinds = [FILE_KINDS.get(t, t) for t in allowed]
    types = _listed(lambda lang: kinds)
    media_type = raw_media_type.strip().lower()
    if media_type not in allowed:
        raise _Rejected("file_type", field, types=types)
    if uploaded_here:
        if content is None:  # over the field's limit: the reader left it in the bucket
            raise too_big
    else:
        # Encoders may wrap base64 in lines; those breaks carry no data.
        encoded = "".join(upload.content_base64.split())
        if len(encoded) > 4 * -(-limit // 3):  # longer than any encoding of `limit` bytes: do not decode it
            raise too_big
        try:
            content = base64.b64decode(encoded, validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            raise unreadable from None
    if not content:
        raise _Rejected("file_empty", field)
    if len(content) > limit:
        raise too_big
    signature = _SIGNATURES.get(media_type)
    if signature is not None and not content.startswith(signature):
        raise _Rejected("file_content", field, kind=FILE_KINDS[media_type], types=types)
    return StoredAttachment(
        field=field.name,
        filename=filename,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


_SCALARS: dict[str, Callable[[FieldDef, Any], Value]] = {
    "text": _text,
    "number": _number,
    "date": _date,
    "choice": _choice,
    "address": _address,
    "postal_code": _postal_code,
    "phone": _phone,
}
