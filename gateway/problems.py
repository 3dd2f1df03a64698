"""Every error leaves the gateway as RFC 9457 ``application/problem+json``, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException, ProblemDetailsPlugin

from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://aizu.example/problems/"


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
    return from_envelope(exc.envelope, exc.status, headers)


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    extra: dict[str, Any] | None = None
    if exc.extra:
        extra = {"errors": exc.extra} if isinstance(exc.extra, list) else dict(exc.extra)
    return ProblemDetailsException(
        status_code=exc.status_code, title=exc.detail, detail=exc.detail, extra=extra, headers=exc.headers
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
