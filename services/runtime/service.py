"""The base of every service: a ``nats.micro`` service whose endpoints take the tenant as a wildcard.

A handler reads like the procedure it serves: it receives the decoded request and a context
(tenant from the subject, principal and trace from the headers, one database session) and returns
a msgspec Struct or pre-encoded JSON bytes. Failures become the contracts' error envelope.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import EndpointConfig, Service
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts import headers as h
from contracts import principal as principals
from contracts import subjects
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure, failure, from_validation_error
from contracts.principal import Principal
from services.runtime import telemetry

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Context:
    tenant: str
    principal: Principal
    session: AsyncSession
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Context, Any], Awaitable[msgspec.Struct | bytes]]


@dataclass(frozen=True, slots=True)
class _Endpoint(Generic[Req]):
    verb: str
    request_type: type[Req]
    handler: Handler


_ENCODER = msgspec.json.Encoder()


def _error_reply(envelope: ErrorEnvelope) -> tuple[bytes, dict[str, str]]:
    return _ENCODER.encode(envelope), {h.SERVICE_ERROR_CODE: envelope.code.value, h.SERVICE_ERROR: envelope.title}


class ServiceApp:
    """Declare endpoints with :meth:`endpoint`, then :meth:`start` on a NATS connection."""

    def __init__(self, name: str, version: str, description: str = "", max_in_flight: int = 256) -> None:
        self.name = name
        self.version = version
        self.description = description
        self._endpoints: list[_Endpoint[Any]] = []
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._tracer = telemetry.tracer(f"aizu.{name}")
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self.micro: Service | None = None

    def endpoint(self, verb: str, request_type: type[Req]) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._endpoints.append(_Endpoint(verb=verb, request_type=request_type, handler=fn))
            self._decoders[verb] = msgspec.json.Decoder(request_type)
            return fn

        return register

    async def start(self, nc: Client, sessions: async_sessionmaker[AsyncSession]) -> Service:
        self._sessions = sessions
        self.micro = await add_service(
            nc, name=self.name, version=self.version, description=self.description, queue_group=self.name
        )
        for ep in self._endpoints:
            await self.micro.add_endpoint(
                EndpointConfig(
                    name=ep.verb,
                    subject=subjects.endpoint(self.name, ep.verb),
                    handler=self._dispatcher(ep),
                )
            )
        return self.micro

    async def stop(self) -> None:
        if self.micro is not None:
            await self.micro.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _dispatcher(self, ep: _Endpoint[Any]) -> Callable[[Request], Awaitable[None]]:
        # nats-py runs one subscription's callbacks one after another; handing each request to its
        # own task lets a copy of the service overlap database waits, bounded by the semaphore.
        async def dispatch(request: Request) -> None:
            await self._in_flight.acquire()
            task = asyncio.create_task(self._serve(ep, request))
            self._tasks.add(task)
            task.add_done_callback(self._finished)

        return dispatch

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight.release()

    async def _serve(self, ep: _Endpoint[Any], request: Request) -> None:
        incoming = request.headers or {}
        with self._tracer.start_as_current_span(
            f"{self.name}.{ep.verb}",
            context=telemetry.extract(incoming),
            kind=trace.SpanKind.SERVER,
            attributes={"messaging.system": "nats", "messaging.destination.name": request.subject},
        ) as span:
            try:
                body = await self._handle(ep, request, incoming)
            except ServiceFailure as exc:
                span.set_attribute("aizu.error", exc.envelope.code.value)
                data, extra = _error_reply(exc.envelope)
                await request.respond(data, headers=extra)
                return
            except Exception:
                log.exception("%s.%s failed", self.name, ep.verb)
                span.set_status(trace.Status(trace.StatusCode.ERROR))
                data, extra = _error_reply(ErrorEnvelope(code=ErrorCode.INTERNAL, title="Internal error"))
                await request.respond(data, headers=extra)
                return
            await request.respond(body)

    async def _handle(self, ep: _Endpoint[Any], request: Request, incoming: dict[str, str]) -> bytes:
        try:
            tenant = subjects.tenant_of(request.subject)
        except ValueError as exc:
            raise failure(ErrorCode.BAD_REQUEST, "Bad subject", str(exc)) from exc
        try:
            principal = principals.decode(incoming.get(h.PRINCIPAL))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise failure(ErrorCode.UNAUTHENTICATED, "Unreadable principal header") from exc
        try:
            payload = self._decoders[ep.verb].decode(request.data or b"{}")
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise from_validation_error(exc) from exc
        assert self._sessions is not None, "service not started"
        async with self._sessions() as session:
            result = await ep.handler(Context(tenant=tenant, principal=principal, session=session, headers=incoming), payload)
        return result if isinstance(result, bytes) else _ENCODER.encode(result)
