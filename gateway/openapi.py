"""The OpenAPI document tells the truth: how a caller signs in, and every status a route can answer
with, each error as the problem the gateway really sends.

Litestar writes each route's success from its contract and a 400 in the framework's own error shape;
it cannot know that every error leaves as RFC 9457 ``application/problem+json`` (gateway/problems.py),
that a route taking ``caller`` needs a bearer token, that a town's host may not exist, or that a
service may not answer. :func:`complete` adds that to the generated document, from each route's
own signature and guards, once, when the document is first asked for.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.routes import HTTPRoute

from contracts.errors import ErrorCode, FieldError
from contracts.open311 import Open311Error
from gateway.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from gateway.ratelimit import policy_of

REF = "#/components/schemas/{name}"
BEARER = "bearer"
WRITES = {"post", "put", "patch", "delete"}
#: Answered by the gateway itself: no service is asked, so no 503/504 from one.
LOCAL = {"/healthz", "/readyz", "/api/v1/tenant", "/api/v1/me", "/open311/v2/discovery.json"}
#: GeoReport v2 has its own error body (a list of ``{code, description}``) under application/json.
OPEN311 = "/open311/"

DESCRIPTIONS = {
    400: "Bad request: a malformed body, parameter or header, named in ``errors``",
    401: "Not signed in, or the bearer token does not verify",
    403: "Signed in, but not allowed (another town, another role, or a higher level of sign-in needed)",
    404: "No such town at this host, or no such resource in it",
    409: "The resource's state does not allow this now (e.g. already decided)",
    413: "The body is larger than this route takes",
    422: "Understood, but refused: each failing field is named by its JSON path, in Japanese and English",
    429: "Too many requests from this address: retry after ``Retry-After`` seconds",
    500: "An unexpected error (logged; no details are given)",
    503: "No copy of the service answered: retry after ``Retry-After`` seconds",
    504: "The service did not answer in time: the request may have been applied; retry with the same Idempotency-Key",
}


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, as every error of the API is sent."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    #: The platform's error code (``validation``, ``not_found``, ``forbidden``...).
    code: ErrorCode | None = None
    #: Each failing field: a JSON path into the body (``$.answers.name``) or a parameter's name.
    errors: list[FieldError] = []
    #: With ``step_up``: the sign-in level to come back with (RFC 9470).
    acr_values: str | None = None


def _components() -> dict[str, Any]:
    _, schemas = msgspec.json.schema_components([Problem, list[Open311Error]], ref_template=REF)
    return schemas


def _statuses(path: str, method: str, handler: Any) -> set[int]:
    parameters = handler.parsed_fn_signature.parameters
    statuses = {400, 404, 500}
    if path not in LOCAL:
        # GeoReport has no 422 in its vocabulary: Open311 answers a refusal with 400.
        statuses |= {503, 504} if path.startswith(OPEN311) else {422, 503, 504}
    if "caller" in parameters:
        statuses |= {401, 403}
    if method in WRITES:
        statuses |= {409, 413}
    if any(policy_of(guard) for guard in handler.resolve_guards()):
        statuses.add(429)
    return statuses


def _structs(annotation: Any, seen: set[type]) -> Iterator[type[msgspec.Struct]]:
    """The structs a body of this type is made of (its own, its fields', union members)."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if annotation in seen:
            return
        seen.add(annotation)
        yield annotation
        for field in msgspec.structs.fields(annotation):
            yield from _structs(field.type, seen)
    for argument in typing.get_args(annotation):
        yield from _structs(argument, seen)


def _strict_bodies(app: Litestar, schemas: dict[str, Any]) -> None:
    """A body struct that refuses unknown fields says so (``additionalProperties: false``)."""
    seen: set[type] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None:
                continue
            for struct in _structs(data.annotation, seen):
                schema = schemas.get(struct.__name__)
                if struct.__struct_config__.forbid_unknown_fields and schema and schema.get("title") == struct.__name__:
                    schema["additionalProperties"] = False


def _error(status: int, open311: bool) -> dict[str, Any]:
    if open311:
        content = {"application/json": {"schema": {"type": "array", "items": {"$ref": REF.format(name="Open311Error")}}}}
    else:
        content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF.format(name="Problem")}}}
    response: dict[str, Any] = {"description": DESCRIPTIONS[status], "content": content}
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"description": "How to sign in (RFC 6750)", "schema": {"type": "string"}}}
    return response


def complete(app: Litestar, generated: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(generated)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(_components())
    _strict_bodies(app, components["schemas"])
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of the town's (or the council's) OpenID Connect realm",
        }
    }
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        item = document.get("paths", {}).get(route.path_format)
        if item is None:
            continue
        for handler in route.route_handlers:
            for method in (m.lower() for m in handler.http_methods):
                operation = item.get(method)
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                # The framework's 400 is replaced too: it documents a shape the gateway never sends.
                own = {str(status) for status in (handler.responses or {})}  # e.g. /readyz's own 503
                for status in sorted(_statuses(route.path_format, method, handler)):
                    if str(status) not in own:
                        responses[str(status)] = _error(status, route.path_format.startswith(OPEN311))
                operation["security"] = [{BEARER: []}] if "caller" in handler.parsed_fn_signature.parameters else []
    return document


def _completed(request: Request[Any, Any, Any], generated: dict[str, Any]) -> dict[str, Any]:
    """The app's document, completed the first time any page asks for it."""
    state = request.app.state
    if "openapi_document" not in state:
        state["openapi_document"] = complete(request.app, generated)
    return state["openapi_document"]


class OpenAPIJson(JsonRenderPlugin):
    """``/schema/openapi.json``: the completed document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _completed(request, openapi_schema))


class OpenAPISwagger(SwaggerRenderPlugin):
    """``/schema/swagger`` (development only: it loads Swagger UI from a CDN), which embeds the document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _completed(request, openapi_schema))
