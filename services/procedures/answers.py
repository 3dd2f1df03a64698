"""A procedure's answers, checked and normalised when an application is submitted.

Every failing field is reported at once, in plain Japanese first and English second: a resident
(often elderly) or a counter clerk then fixes the whole form in one go instead of meeting one
error per attempt. Values are stored in one canonical spelling (half-width digits, ISO dates,
``NNN-NNNN`` postal codes, phone digits only) whatever keyboard or IME produced them, so staff,
receipts and later prefill all see the same thing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from contracts.catalog import FieldDef
from contracts import text as text_policy
from contracts.errors import ErrorCode, FieldError, failure
from contracts.uploads import FILE_KINDS, MAX_FILE_BYTES, UploadedAnswer
from services.runtime.files import Uploaded

TOKYO = ZoneInfo("Asia/Tokyo")

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


class _Rejected(Exception):
    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.ja = ja
        self.en = en


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
# Each era's first day, and its name for the English message. 大正 costs one row, and the
# oldest residents were born in it.
_ERAS = {
    "大正": (dt.date(1912, 7, 30), "Taisho"),
    "昭和": (dt.date(1926, 12, 25), "Showa"),
    "平成": (dt.date(1989, 1, 8), "Heisei"),
    "令和": (dt.date(2019, 5, 1), "Reiwa"),
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
            errors.append(_error(str(name), _Rejected(
                f"「{name}」という項目はこの手続きにはありません。",
                f"This procedure has no field named {name!r}.",
            )))
    if errors:
        raise failure(ErrorCode.VALIDATION, "Invalid answers", f"{len(errors)} answer(s) need correcting", errors)
    return ValidAnswers(values=values, attachments=attachments)


def _error(name: str, rejected: _Rejected) -> FieldError:
    return FieldError(field=f"$.answers.{name}", message_ja=rejected.ja, message_en=rejected.en)


def _blank(value: Any) -> bool:
    # str.strip also removes the full-width space (U+3000) a Japanese keyboard types.
    return value is None or (isinstance(value, str) and not value.strip())


def _missing(field: FieldDef) -> _Rejected:
    if field.kind == "choice":
        return _Rejected(f"{field.label_ja}を選んでください。", f"{field.label_en}: please choose one.")
    if field.kind == "attachment":
        return _Rejected(f"{field.label_ja}のファイルを添付してください。", f"{field.label_en}: please attach the file.")
    return _Rejected(f"{field.label_ja}を入力してください。", f"{field.label_en}: please fill this in.")


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
    wrong = _Rejected(f"{field.label_ja}は文字で入力してください。", f"{field.label_en}: please enter text.")
    # NFC: a name typed on a Mac can arrive with separate voiced marks (か + ゛); it is the same
    # text, and should count and compare as the same.
    text = unicodedata.normalize("NFC", _string(value, wrong).replace("\r\n", "\n")).strip()
    if _forbidden(text, allowed="\n"):
        raise _Rejected(
            f"{field.label_ja}に使えない特殊な文字が含まれています。入力し直してください。",
            f"{field.label_en}: contains control characters; please type it again.",
        )
    if field.max_length is not None and len(text) > field.max_length:
        raise _Rejected(
            f"{field.label_ja}は {field.max_length} 文字以内で入力してください（いまは {len(text)} 文字です）。",
            f"{field.label_en}: please use at most {field.max_length} characters (now {len(text)}).",
        )
    return text


def _number(field: FieldDef, value: Any) -> int | float:
    wrong = _Rejected(f"{field.label_ja}は数字で入力してください（例: 3）。", f"{field.label_en}: please enter a number, for example 3.")
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
        bounds_ja = [f"{_show(low)} 以上"] if low is not None else []
        bounds_en = [f"at least {_show(low)}"] if low is not None else []
        if high is not None:
            bounds_ja.append(f"{_show(high)} 以下")
            bounds_en.append(f"at most {_show(high)}")
        raise _Rejected(
            f"{field.label_ja}は {' '.join(bounds_ja)}の数で入力してください。",
            f"{field.label_en}: please enter a number that is {' and '.join(bounds_en)}.",
        )
    return number


def _date(field: FieldDef, value: Any) -> str:
    wrong = _Rejected(
        f"{field.label_ja}は「2024-04-01」のように年・月・日の順で入力してください（「令和6年4月1日」のような和暦も使えます）。",
        f"{field.label_en}: please enter the date as year-month-day, for example 2024-04-01.",
    )
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
        raise _Rejected(
            f"{field.label_ja}の {year}年{month}月{day}日 はカレンダーにない日付です。日付を確かめてください。",
            f"{field.label_en}: {year}-{month:02}-{day:02} is not a real date; please check it.",
        ) from None
    if era is not None:
        _check_era(field, era, date)
    if not _EARLIEST <= date <= _LATEST:
        raise _Rejected(
            f"{field.label_ja}は 1900年1月1日 から 2100年12月31日 までの日付で入力してください。",
            f"{field.label_en}: please enter a date from 1900-01-01 to 2100-12-31.",
        )
    _check_window(field, date)
    return date.isoformat()


def _ja(date: dt.date) -> str:
    return f"{date.year}年{date.month}月{date.day}日"


def _check_window(field: FieldDef, date: dt.date) -> None:
    """The procedure's legal window for the date, from the day of filing in Japan."""
    today = dt.datetime.now(TOKYO).date()
    earliest = today + dt.timedelta(days=field.from_days) if field.from_days is not None else None
    latest = today + dt.timedelta(days=field.to_days) if field.to_days is not None else None
    if earliest is not None and latest is not None and not earliest <= date <= latest:
        raise _Rejected(f"{field.label_ja}は {_ja(earliest)} から {_ja(latest)} までの日付を入力してください。",
                        f"{field.label_en}: please enter a date from {earliest} to {latest}.")
    if latest is not None and date > latest:
        words = "今日より後の日付は入力できません" if field.to_days == 0 else f"{_ja(latest)} より後の日付は入力できません"
        raise _Rejected(f"{field.label_ja}: {words}。", f"{field.label_en}: the date cannot be after {latest}.")
    if earliest is not None and date < earliest:
        raise _Rejected(f"{field.label_ja}: {_ja(earliest)} より前の日付は入力できません。",
                        f"{field.label_en}: the date cannot be before {earliest}.")


def _check_era(field: FieldDef, era: str, date: dt.date) -> None:
    """平成32年 or 昭和64年2月 name days that never existed: the era had already ended."""
    start, romaji = _ERAS[era]
    later = [s for s, _ in _ERAS.values() if s > start]
    end = min(later) - dt.timedelta(days=1) if later else None
    if date < start or (end is not None and date > end):
        span_ja = f"{start.year}年{start.month}月{start.day}日から" + (f"{end.year}年{end.month}月{end.day}日まで" if end else "")
        span_en = f"from {start.isoformat()}" + (f" to {end.isoformat()}" if end else "")
        raise _Rejected(
            f"{field.label_ja}: {era}は{span_ja}です。年を確かめてください。",
            f"{field.label_en}: the {romaji} era runs {span_en}; please check the year.",
        )


def _choice(field: FieldDef, value: Any) -> str:
    labels_ja = "、".join(f"「{c.label_ja}」" for c in field.choices)
    labels_en = ", ".join(c.label_en for c in field.choices)
    wrong = _Rejected(
        f"{field.label_ja}は次の中から選んでください: {labels_ja}",
        f"{field.label_en}: please choose one of: {labels_en}.",
    )
    text = _string(value, wrong).strip()
    if text not in {c.value for c in field.choices}:
        raise wrong
    return text


def _address(field: FieldDef, value: Any) -> str:
    limit = min(field.max_length or _ADDRESS_MAX, _ADDRESS_MAX)
    wrong = _Rejected(f"{field.label_ja}は文字で入力してください。", f"{field.label_en}: please enter the address as text.")
    text = unicodedata.normalize("NFC", _string(value, wrong)).strip()
    # An address is one line on an envelope, so a newline is refused too.
    if _forbidden(text):
        raise _Rejected(
            f"{field.label_ja}は改行や特殊な文字を使わずに 1 行で入力してください。",
            f"{field.label_en}: please write the address on one line, without special characters.",
        )
    if len(text) > limit:
        raise _Rejected(
            f"{field.label_ja}は {limit} 文字以内で入力してください（いまは {len(text)} 文字です）。",
            f"{field.label_en}: please use at most {limit} characters (now {len(text)}).",
        )
    return text


def _postal_code(field: FieldDef, value: Any) -> str:
    wrong = _Rejected(
        f"{field.label_ja}は 7 桁の数字で入力してください（例: 966-0000）。",
        f"{field.label_en}: please enter the 7-digit postal code, for example 966-0000.",
    )
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
    wrong = _Rejected(
        f"{field.label_ja}は 0 から始まる 10 桁または 11 桁の番号を入力してください（例: 0242-00-0000、090-0000-0000）。",
        f"{field.label_en}: please enter a 10 or 11-digit number starting with 0, for example 0242-00-0000 or 090-0000-0000.",
    )
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
    unreadable = _Rejected(
        f"{field.label_ja}のファイルを読み取れませんでした。もう一度添付してください。",
        f"{field.label_en}: the file could not be read; please attach it again.",
    )
    limit = field.max_bytes or _ATTACHMENT_CEILING
    too_big = _Rejected(
        f"{field.label_ja}のファイルが大きすぎます。{_size(limit)} 以下のファイルを添付してください。",
        f"{field.label_en}: the file is too large; please attach a file of at most {_size(limit)}.",
    )
    content: bytes | None
    uploaded_here = isinstance(value, dict) and "upload" in value
    if uploaded_here:
        try:
            ref = msgspec.convert(value, UploadedAnswer)
        except msgspec.ValidationError:
            raise unreadable from None
        found = uploaded.get(ref.upload)
        if found is None:
            raise _Rejected(
                f"{field.label_ja}のファイルの保存期間が過ぎました。もう一度添付してください。",
                f"{field.label_en}: the attached file is no longer kept; please attach it again.",
            )
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
        raise _Rejected(
            f"{field.label_ja}のファイル名が使えません。「/」「\\」や文字の向きを変える記号を含まない {_FILENAME_MAX} 文字以内の名前にしてください。",
            f"{field.label_en}: the file name cannot be used; it must be at most {_FILENAME_MAX} characters, without /, \\ or direction-changing marks.",
        )
    allowed = [t.lower() for t in field.media_types]
    names = "、".join(FILE_KINDS.get(t, t) for t in allowed)
    media_type = raw_media_type.strip().lower()
    if media_type not in allowed:
        raise _Rejected(
            f"{field.label_ja}は {names} のファイルを添付してください。",
            f"{field.label_en}: please attach a file of type {', '.join(FILE_KINDS.get(t, t) for t in allowed)}.",
        )
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
        raise _Rejected(
            f"{field.label_ja}のファイルが空です。中身のあるファイルを添付してください。",
            f"{field.label_en}: the file is empty; please attach the right file.",
        )
    if len(content) > limit:
        raise too_big
    signature = _SIGNATURES.get(media_type)
    if signature is not None and not content.startswith(signature):
        kind = FILE_KINDS[media_type]
        raise _Rejected(
            f"{field.label_ja}のファイルの中身が {kind} ではありません。{names} のファイルを添付し直してください。",
            f"{field.label_en}: the file's content is not {kind}; please attach the file again.",
        )
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
