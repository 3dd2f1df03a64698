"""The base of every service: a ``nats.micro`` service whose endpoints take the tenant as a wildcard.

A handler reads like the procedure it serves: it receives the decoded request and a context
(tenant from the subject, principal and trace from the headers, one database session) and returns
a msgspec Struct or pre-encoded JSON bytes. Failures become the contracts' error envelope.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request
from nats.micro.service import EndpointConfig, Service
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from contracts import headers as h
from contracts import principal as principals
from contracts import subjects
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure, failure, from_validation_error
from contracts.principal import Principal
from services.runtime import rls, telemetry
from services.runtime.database import create_reader

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=msgspec.Struct)


class Context:
    """What a handler knows of its request. The database session opens on first use only."""

    __slots__ = ("tenant", "principal", "headers", "_sessions", "_session")

    def __init__(
        self, tenant: str, principal: Principal, headers: dict[str, str], sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.tenant = tenant
        self.principal = principal
        self.headers = headers
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def trace_id(self) -> str | None:
        parts = self.headers.get(h.TRACEPARENT, "").split("-")
        return parts[1] if len(parts) == 4 else None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            # Every transaction of this session runs as the request's town (row-level security).
            self._session = self._sessions(info={rls.TENANT: self.tenant})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


Handler = Callable[[Context, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class _Endpoint(Generic[Req]):
    verb: str
    request_type: type[Req]
    handler: Handler
    read_only: bool


_ENCODER = msgspec.json.Encoder()
MAX_IN_FLIGHT = 64


def _error_reply(envelope: ErrorEnvelope) -> tuple[bytes, dict[str, str]]:
    return _ENCODER.encode(envelope), {h.SERVICE_ERROR_CODE: envelope.code.value, h.SERVICE_ERROR: envelope.title}


class ServiceApp:
    """Declare endpoints with :meth:`endpoint`, then :meth:`start` on a NATS connection."""

    def __init__(self, name: str, version: str, description: str = "") -> None:
        self.name = name
        self.version = version
        self.description = description
        self._endpoints: list[_Endpoint[Any]] = []
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        self._writer: async_sessionmaker[AsyncSession] | None = None
        self._reader: async_sessionmaker[AsyncSession] | None = None
        self._tracer = telemetry.tracer(f"aizu.{name}")
        self._traced = False
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._read_engine: AsyncEngine | None = None
        self._engine_pool: object = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.micro: Service | None = None
        #: The service's parts, by name, for whoever assembles or tests it.
        self.parts: dict[str, Any] = {}
        #: Run after the endpoints are up (e.g. an outbox relay) and before they stop.
        self.on_start: list[Callable[[Client, AsyncEngine], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []

    def endpoint(self, verb: str, request_type: type[Req], *, read_only: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler. A ``read_only`` one reads in autocommit: no BEGIN/ROLLBACK round trips."""

        def register(fn: Handler) -> Handler:
            self._endpoints.append(_Endpoint(verb=verb, request_type=request_type, handler=fn, read_only=read_only))
            self._decoders[verb] = msgspec.json.Decoder(request_type)
            return fn

        return register

    async def start(self, nc: Client, engine: AsyncEngine) -> Service:
        # Spans that nobody receives cost ~10% of a small request: open them only when recorded.
        self._traced = telemetry.recording()
        self._writer = rls.sessionmaker(engine, expire_on_commit=False)
        self._read_engine = create_reader(engine)
        self._engine_pool = engine.pool
        self._reader = rls.sessionmaker(self._read_engine)
        # Bounds the requests in progress; beyond it they wait in NATS, not in memory.
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
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
        await nc.flush()  # subscribed at the server before anyone is told the service is up
        for hook in self.on_start:
            await hook(nc, engine)
        return self.micro

    async def stop(self) -> None:
        for hook in self.on_stop:
            await hook()
        if self.micro is not None:
            await self.micro.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._read_engine is not None and self._read_engine.pool is not self._engine_pool:
            await self._read_engine.dispose()  # SQLite's separate readers; PostgreSQL shares one pool

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
        if not self._traced:
            await self._reply(ep, request, incoming, None)
            return
        with self._tracer.start_as_current_span(
            f"{self.name}.{ep.verb}",
            context=telemetry.extract(incoming),
            kind=trace.SpanKind.SERVER,
            attributes={"messaging.system": "nats", "messaging.destination.name": request.subject},
        ) as span:
            await self._reply(ep, request, incoming, span)

    async def _reply(self, ep: _Endpoint[Any], request: Request, incoming: dict[str, str], span: trace.Span | None) -> None:
        try:
            body = await self._handle(ep, request, incoming)
        except ServiceFailure as exc:
            if span is not None:
                span.set_attribute("aizu.error", exc.envelope.code.value)
            data, extra = _error_reply(exc.envelope)
            await request.respond(data, headers=extra)
            return
        except Exception:
            log.exception("%s.%s failed", self.name, ep.verb)
            if span is not None:
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
        sessions = self._reader if ep.read_only else self._writer
        assert sessions is not None, "service not started"
        ctx = Context(tenant, principal, incoming, sessions)
        try:
            result = await ep.handler(ctx, payload)
        finally:
            await ctx.close()
        return result if isinstance(result, bytes) else _ENCODER.encode(result)
