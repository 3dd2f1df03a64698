"""A route that asks one service one thing, declared as a row (:class:`BusRoute`) and made into a
Litestar handler by :func:`handler_of`.

The row names the HTTP side (method, path, status), the service and verb, and the contracts: the
request the service takes and the reply it gives. The request is made from the HTTP one without a
Struct of the gateway's own: the path's parameters and (GET) the query's are fields of the request;
a body is a contract too, the request itself or the request without the fields in the path. What
the contract refuses (a value out of range, too long an id in the path) is a 422 naming the field
before anything is sent; the reply is the service's JSON, passed through as it was encoded.
The OpenAPI document says exactly this: each query parameter with the contract's bounds, the
body's schema, and the reply's as the 2xx response.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from litestar import Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.types import Guard

from contracts import headers as h
from contracts.applications import IdempotencyKey
from contracts.errors import ErrorCode, ServiceFailure, field_failure, from_validation_error
from contracts.principal import Principal
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply

#: Who may call a route: the principal the service is asked as (refusing anyone else), from the caller.
Who = Callable[[Caller], Awaitable[Principal]]
Method = Literal["GET", "POST", "PUT", "DELETE"]
_DECORATORS = {"GET": get, "POST": post, "PUT": put, "DELETE": delete}
_PARAM = re.compile(r"{(\w+):str}")


def resident(caller: Caller) -> Awaitable[Principal]:
    return caller.resident()


def resident_or_staff(caller: Caller) -> Awaitable[Principal]:
    return caller.resident_or_staff()


def staff(caller: Caller) -> Awaitable[Principal]:
    return caller.staff()


def tenant_admin(caller: Caller) -> Awaitable[Principal]:
    return caller.staff("tenant-admin")


async def broadcaster(caller: Caller) -> Principal:
    """At the council's host a council member, at a town's its tenant admins."""
    if caller.tenant.kind == "council":
        return await caller.council()
    return await caller.staff("tenant-admin")


@dataclass(frozen=True)
class BusRoute:
    method: Method
    #: Litestar's path, parameters as ``{name:str}``.
    path: str
    service: str
    verb: str
    #: The contract the service takes.
    request: type[msgspec.Struct]
    #: The contract it answers with (the 2xx response's schema).
    reply: Any
    #: What the reply is, for the API's reader.
    says: str
    tag: str
    #: None: anyone (no sign-in; the service is asked without a principal).
    who: Who | None
    status: int = 200
    #: The body's contract: the request itself, or the request without the path's fields (None: no body).
    body: type[msgspec.Struct] | None = None
    #: The body may be left out (its contract's defaults).
    body_optional: bool = False
    #: Path parameter → the request's field, where the names differ (``application_id`` → ``id``).
    path_fields: Mapping[str, str] = field(default_factory=dict)
    #: A write that may be retried: the ``Idempotency-Key`` header is required and passed on.
    idempotent: bool = False
    #: Asked of the host's own tenant, the council's too (not only a town's: region-wide broadcasts).
    council_too: bool = False
    guards: Sequence[Guard] = ()
    #: The handler's name (its Python name, for logs and ``route_reverse``).
    name: str = ""
    #: The route's description in the API document.
    doc: str = ""

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)


_BOUNDS = (("ge", "minimum"), ("le", "maximum"), ("min_length", "minLength"), ("max_length", "maxLength"))


def _unbounded(annotation: Any, bounds: dict[str, Any]) -> Any:
    """``annotation`` without its msgspec bounds (``Annotated[int, Meta(ge=1)]``, also inside
    ``… | None``), which are put into ``bounds`` under their JSON Schema names."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        for meta in metadata:
            if isinstance(meta, msgspec.Meta):
                bounds.update({theirs: getattr(meta, ours) for ours, theirs in _BOUNDS if getattr(meta, ours) is not None})
        return base
    members = get_args(annotation)
    if type(None) in members and any(get_origin(m) is Annotated for m in members):
        return Union[tuple(_unbounded(m, bounds) for m in members)]  # noqa: UP007 - built from a tuple
    return annotation


def _query_parameter(info: msgspec.structs.FieldInfo) -> tuple[Any, Any]:
    """The annotation and default of one query parameter: the field's type, its bounds shown in
    the document (checked by the contract on the way in: a 422 naming it)."""
    bounds: dict[str, Any] = {}
    annotation = _unbounded(info.type, bounds)
    if info.required:
        default = inspect.Parameter.empty
    elif info.default_factory is not msgspec.NODEFAULT:
        default = info.default_factory()
    else:
        default = info.default
    return Annotated[annotation, QueryParameter(schema_extra=bounds or None, required=info.required)], default


def _idempotency_key(value: str | None) -> str:
    if not value:
        raise field_failure(ErrorCode.BAD_REQUEST, "Idempotency-Key", "申請の重複を防ぐキー（Idempotency-Key）が必要です。",
                            "An Idempotency-Key header is required")
    try:
        msgspec.convert(value, IdempotencyKey)
    except msgspec.ValidationError as exc:
        raise field_failure(ErrorCode.BAD_REQUEST, "Idempotency-Key", "申請の重複を防ぐキー（Idempotency-Key）の形が正しくありません。",
                            f"Idempotency-Key: {exc}") from exc
    return value


def _request(route: BusRoute, values: dict[str, Any]) -> msgspec.Struct:
    """The service's request from the HTTP one's values, as the contract accepts them (422 otherwise)."""
    try:
        return msgspec.convert(values, route.request)
    except msgspec.ValidationError as exc:
        failed = from_validation_error(exc)
        # A path parameter is named as the URL names it (as the framework names a parameter).
        named = {f"$.{route.path_fields.get(param, param)}": param for param in route.path_params}
        fields = [msgspec.structs.replace(e, field=named.get(e.field, e.field)) for e in failed.envelope.fields]
        raise ServiceFailure(msgspec.structs.replace(failed.envelope, fields=fields)) from exc


def handler_of(route: BusRoute) -> HTTPRouteHandler:
    """The Litestar handler of one row."""
    params = route.path_params
    fields_of_path = {p: route.path_fields.get(p, p) for p in params}
    signature: list[inspect.Parameter] = []

    def add(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> None:
        signature.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))

    add("state", State)
    add("caller" if route.who else "tenant", NamedDependency[Caller] if route.who else NamedDependency[TenantProfile])
    for param in params:
        add(param, FromPath[str])
    query: list[str] = []
    if route.method == "GET":
        for info in msgspec.structs.fields(route.request):
            if info.name not in fields_of_path.values():
                query.append(info.name)
                add(info.name, *_query_parameter(info))
    elif route.body is not None:
        if route.body_optional:
            add("data", JSONBody[route.body | None], None)  # type: ignore[name-defined]
        else:
            add("data", JSONBody[route.body])  # type: ignore[name-defined]
    if route.idempotent:
        add("idempotency_key", Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)], None)

    async def handle(**kwargs: Any) -> Response[bytes]:
        state: State = kwargs["state"]
        caller: Caller | None = kwargs.get("caller")
        tenant: TenantProfile = caller.tenant if caller else kwargs["tenant"]
        principal = await route.who(caller) if route.who and caller else None
        headers = {h.IDEMPOTENCY_KEY: _idempotency_key(kwargs["idempotency_key"])} if route.idempotent else None
        data = kwargs.get("data")
        if data is not None and not fields_of_path and type(data) is route.request:
            message = data  # the body is the request
        else:
            values = msgspec.structs.asdict(data) if data is not None else {}
            values.update({name: kwargs[name] for name in query})
            values.update({fieldname: kwargs[param] for param, fieldname in fields_of_path.items()})
            message = _request(route, values)
        if route.council_too:
            reply = await state.bus.request(tenant.slug, route.service, route.verb, msgspec.json.encode(message), principal, headers)
        else:
            reply = await state.bus.call(tenant, route.service, route.verb, message, principal, headers)
        return json_reply(reply, route.status)

    handle.__signature__ = inspect.Signature(signature, return_annotation=Response[bytes])  # type: ignore[attr-defined]
    handle.__annotations__ = {p.name: p.annotation for p in signature} | {"return": Response[bytes]}
    handle.__name__ = handle.__qualname__ = route.name or route.verb
    handle.__doc__ = route.doc or None
    decorator = _DECORATORS[route.method]
    return decorator(
        route.path,
        tags=[route.tag],
        status_code=route.status,
        guards=list(route.guards) or None,
        responses={route.status: documented(route.reply, route.says)},
    )(handle)
