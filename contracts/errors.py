"""The one error envelope of the bus, and the HTTP status each code maps to."""

from __future__ import annotations

import enum
from typing import TypeVar

import msgspec

from contracts.text import explain

T = TypeVar("T")


class ErrorCode(str, enum.Enum):
    BAD_REQUEST = "bad_request"
    VALIDATION = "validation"
    UNAUTHENTICATED = "unauthenticated"
    #: Signed in, but at a lower assurance level than the action needs (RFC 9470 step-up).
    STEP_UP = "insufficient_user_authentication"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    INTERNAL = "internal"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION: 422,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.STEP_UP: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.INTERNAL: 500,
}


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One failing field: ``field`` is a JSON path such as ``$.answers.postal_code``."""

    field: str
    message_ja: str
    message_en: str


class ErrorEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    code: ErrorCode
    title: str
    detail: str = ""
    fields: list[FieldError] = []
    #: With ``STEP_UP``: the ``acr`` the caller must come back with.
    acr_values: str | None = None


class ServiceFailure(Exception):
    """Raised inside a service (or the gateway) to answer with an envelope instead of a result."""

    def __init__(self, envelope: ErrorEnvelope) -> None:
        super().__init__(f"{envelope.code.value}: {envelope.detail or envelope.title}")
        self.envelope = envelope

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.envelope.code]


def failure(code: ErrorCode, title: str, detail: str = "", fields: list[FieldError] | None = None) -> ServiceFailure:
    return ServiceFailure(ErrorEnvelope(code=code, title=title, detail=detail, fields=fields or []))


def field_failure(code: ErrorCode, field: str, ja: str, en: str, title: str = "") -> ServiceFailure:
    """A failure of one field, said in Japanese and English (titled in English unless told)."""
    return failure(code, title or en, en, [FieldError(field=field, message_ja=ja, message_en=en)])


def from_validation_error(error: msgspec.ValidationError | msgspec.DecodeError) -> ServiceFailure:
    """Turn msgspec's message (``... - at `$.field` ``) into an envelope that names the field."""
    text = str(error)
    message, _, path = text.rpartition(" - at `")
    if not message:
        message, path = text, "$"
    field = path.rstrip("`")
    code = ErrorCode.VALIDATION if isinstance(error, msgspec.ValidationError) else ErrorCode.BAD_REQUEST
    ja, en = explain(message) or (f"入力内容が正しくありません: {message}", message)
    return failure(
        code,
        "Invalid request body" if code is ErrorCode.VALIDATION else "Malformed request body",
        detail=text,
        fields=[FieldError(field=field, message_ja=ja, message_en=en)],
    )


def convert(values: object, type_: type[T]) -> T:
    """``msgspec.convert`` whose failure is a 422 naming the field, not an exception to crash on."""
    try:
        return msgspec.convert(values, type_)
    except msgspec.ValidationError as exc:
        raise from_validation_error(exc) from exc
