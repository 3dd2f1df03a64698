"""Replies that pass a service's JSON through unchanged: it was encoded once, by the service."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

JSON = "application/json"


def json_reply(body: bytes, status_code: int = 200) -> Response[bytes]:
    return Response(body, media_type=JSON, status_code=status_code)


def documented(shape: Any, description: str, media_type: str = JSON) -> ResponseSpec:
    """The OpenAPI response of a pass-through route: its contract, without generated examples
    (random examples would break the contracts' own invariants, e.g. a location's lat with long)."""
    return ResponseSpec(data_container=shape, description=description, generate_examples=False, media_type=media_type)
