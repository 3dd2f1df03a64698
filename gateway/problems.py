"""Every error leaves the gateway as RFC 9457 ``application/problem+json``, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException, ProblemDetailsPlugin

from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure
from contracts.text import explain

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://aizu.example/problems/"
RETRY_AFTER_SECONDS = 5


def from_envelope(envelope: ErrorEnvelope, status: int, headers: dict[str, str] | None = None) -> ProblemDetailsException:
    extra: dict[str, Any] = {"code": envelope.code.value}
    if envelope.fields:
        extra["errors"] = msgspec.to_builtins(envelope.fields)
    if envelope.acr_values:
        extra["acr_values"] = envelope.acr_values
    return ProblemDetailsException(
        status_code=status,
        title=envelope.title,
        detail=envelope.detail or envelope.title,
        type_=TYPE_BASE + envelope.code.value,
        extra=extra,
        headers=headers,
    )


def _from_failure(exc: ServiceFailure) -> ProblemDetailsException:
    headers = None
    if exc.envelope.code is ErrorCode.STEP_UP and exc.envelope.acr_values:
        # RFC 9470: the client learns which level to step up to and can retry after sign-in.
        headers = {
            "WWW-Authenticate": (
                'Bearer error="insufficient_user_authentication", '
                'error_description="A higher authentication level is required", '
                f'acr_values="{exc.envelope.acr_values}"'
            )
        }
    if exc.envelope.code is ErrorCode.UNAVAILABLE:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}  # no copy answered: a restart takes seconds
    return from_envelope(exc.envelope, exc.status, headers)


def field_of(key: str, error: dict[str, Any]) -> str:
    return ("$." + key if key else "$") if error.get("source", "body") == "body" else key


def _field(error: Any) -> Any:
    """The framework's ``{message, key, source}`` as the services' field error: where (a JSON
    path into the body, else the parameter's name) and what, in Japanese and English."""
    if not isinstance(error, dict) or "message" not in error or "field" in error:
        return error
    key, message = str(error.get("key") or ""), str(error["message"])
    if key == "data" and message == "'data'":  # no body at all where one is required
        return {"field": "$", "message_ja": "本文（JSON）がありません。", "message_en": "A JSON body is required"}
    if message.startswith("Missing required"):
        return {"field": field_of(key, error), "message_ja": f"{key} の指定が必要です。", "message_en": message}
    field = field_of(key, error)
    ja, en = explain(message) or (f"入力内容が正しくありません: {message}", message)
    return {"field": field, "message_ja": ja, "message_en": en}


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    extra: dict[str, Any] | None = None
    type_ = None
    if exc.extra:
        extra = {"errors": [_field(e) for e in exc.extra]} if isinstance(exc.extra, list) else dict(exc.extra)
    if isinstance(exc, ValidationException):
        # The framework's own checks read like the services' (one error format for clients).
        extra = {"code": ErrorCode.VALIDATION.value, **(extra or {})}
        type_ = TYPE_BASE + ErrorCode.VALIDATION.value
    return ProblemDetailsException(
        status_code=exc.status_code, title=exc.detail, detail=exc.detail, extra=extra, headers=exc.headers, type_=type_
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        {"type": TYPE_BASE + "internal", "title": "Internal error", "status": 500, "detail": "Internal error"},
        status_code=500,
        media_type=MEDIA_TYPE,
    )


def plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={ServiceFailure: _from_failure, HTTPException: _from_http}
        )
    )


EXCEPTION_HANDLERS = {Exception: _unexpected}
