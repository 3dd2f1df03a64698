"""The base of every service: a ``nats.micro`` service whose endpoints take the tenant as a wildcard.

A handler reads like the procedure it serves: it receives the decoded request and a context
(tenant from the subject, principal and trace from the headers, one database session) and returns
a msgspec Struct or pre-encoded JSON bytes. A failure is answered as a nats.micro error (an
HTTP-like status in ``Nats-Service-Error-Code``, the title in ``Nats-Service-Error``) whose body is
the contracts' error envelope, and counts as an error in ``$SRV.STATS``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.micro import add_service
from nats.micro.request import Request, ServiceError
from nats.micro.service import Endpoint, EndpointConfig, Service
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from contracts import headers as h
from contracts import principal as principals
from contracts import subjects
from contracts.errors import HTTP_STATUS, ErrorCode, ErrorEnvelope, ServiceFailure, failure, from_validation_error
from contracts.principal import Principal
from services.runtime import rls, telemetry
from services.runtime.database import create_reader

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=msgspec.Struct)
C = TypeVar("C", bound="Components")


class Worker(Protocol):
    """What a service runs beside its endpoints (a relay, a consumer, a sender)."""

    async def begin(self, nc: Client) -> None: ...

    async def stop(self) -> None: ...


class Components(Protocol):
    """A service's parts, built in one place on start; the runtime begins ``workers`` in their
    order once the endpoints answer, and stops them in the reverse order once the endpoints have
    stopped and the requests in flight are done."""

    @property
    def workers(self) -> Sequence[Worker]: ...


@dataclass(frozen=True, slots=True)
class Resources:
    """What the runtime hands a service's assembly: its connection and its database."""

    nc: Client
    js: JetStreamContext
    #: Writing sessions under row-level security (as the endpoints' ``ctx.session``).
    sessions: async_sessionmaker[AsyncSession]


class Context:
    """What a handler knows of its request. The database session opens on first use only."""

    __slots__ = ("tenant", "principal", "headers", "_sessions", "_session", "_readers", "_reads")

    def __init__(
        self, tenant: str, principal: Principal, headers: dict[str, str], sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.tenant = tenant
        self.principal = principal
        self.headers = headers
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._readers = readers or sessions
        self._reads: AsyncSession | None = None

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

    @property
    def reads(self) -> AsyncSession:
        """A session for reading only, beside :attr:`session`: a writing handler's checks before
        it writes, which then do not wait for SQLite's one writing connection."""
        if self._reads is None:
            self._reads = self._readers(info={rls.TENANT: self.tenant})
        return self._reads

    async def close(self) -> None:
        for session in (self._session, self._reads):
            if session is not None:
                await session.close()


Handler = Callable[[Context, Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class _Endpoint(Generic[Req]):
    verb: str
    request_type: type[Req]
    handler: Handler
    read_only: bool


_ENCODER = msgspec.json.Encoder()
#: Requests one copy of a service works on at once, over all its endpoints.
MAX_IN_FLIGHT = 64
#: Requests one endpoint holds in nats-py's memory while the copy is at MAX_IN_FLIGHT. NATS
#: itself keeps nothing for a subscriber: past either limit nats-py drops the request (and logs a
#: slow consumer error) and its caller times out, which beats answering it after the caller gave up.
#: A burst of a town's filings (a thousand at once, say) is worked off within the callers' 5 s at
#: a few hundred a second, so up to 2,048 wait; 64 MiB is 64 of the largest bodies.
MAX_PENDING = 2048
MAX_PENDING_BYTES = 64 * 1024 * 1024
#: Seconds the requests in flight have to finish when a copy stops (the shipped manifests give a
#: copy 30 s or more after SIGTERM: deploy/compose.yaml, deploy/k8s/).
STOP_GRACE_SECONDS = 10.0


class _Failed(ServiceError):
    """nats.micro's error, with a status for its code and our envelope for the body callers decode."""

    def __init__(self, envelope: ErrorEnvelope) -> None:
        super().__init__(code=str(HTTP_STATUS[envelope.code]), description=envelope.title)
        self.body = _ENCODER.encode(envelope)


class _ConcurrentEndpoint(Endpoint):
    """A nats.micro endpoint that works on requests side by side and counts each one whole.

    nats.micro's own endpoint awaits one request before taking the next from nats-py's queue,
    and answers an error with an empty body. This one takes each request into a task of its
    own (bounded by the service's semaphore) that runs nats.micro's accounting around the real
    work, so ``$SRV.STATS`` shows the handler's time and its failures. nats.micro has no public
    hook for either; ``Service.stats()`` reads the counters set here.
    """

    def __init__(
        self, service: Service, config: EndpointConfig, in_flight: asyncio.Semaphore, tasks: set[asyncio.Task[None]]
    ) -> None:
        super().__init__(service, config)
        self._in_flight = in_flight
        self._tasks = tasks

    async def _start(self) -> None:
        self._subscription = await self._service._client.subscribe(
            self._subject,
            queue=self._queue_group,
            cb=self._take,
            pending_msgs_limit=MAX_PENDING,
            pending_bytes_limit=MAX_PENDING_BYTES,
        )

    async def _take(self, msg: Msg) -> None:
        # nats-py calls this for one message at a time: while it waits for a slot, the next
        # requests wait in the subscription's pending queue, bounded above.
        await self._in_flight.acquire()
        task = asyncio.create_task(self._handle_request(msg))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight.release()

    async def _handle_request(self, msg: Msg) -> None:
        # nats.micro's accounting. _reply hands over every failure of the work as _Failed, whose
        # reply carries the envelope; nats.micro's own would answer with an empty body.
        started = time.perf_counter_ns()
        self._num_requests += 1
        request = Request(msg)
        try:
            await self._handler(request)
        except _Failed as failed:
            self._num_errors += 1
            self._last_error = repr(failed)
            await request.respond_error(failed.code, failed.description, failed.body)
        self._processing_time += time.perf_counter_ns() - started
        self._average_processing_time = self._processing_time // self._num_requests


class ServiceApp(Generic[C]):
    """Declare endpoints with :meth:`endpoint`, then :meth:`start` on a NATS connection.

    ``assemble`` builds the service's components (workers and whatever its endpoints use) once the
    connection and the database are known, before the endpoints subscribe; it may declare further
    endpoints that need them.
    """

    def __init__(
        self, name: str, version: str, description: str = "",
        assemble: Callable[[ServiceApp[C], Resources], Awaitable[C]] | None = None,
        *, transaction_pooling: bool,
    ) -> None:
        """``transaction_pooling``: the database is behind a pooler in transaction mode (the
        settings' ``AIZU_DATABASE_TRANSACTION_POOLING``; see ``database.create_reader``)."""
        self.name = name
        self._transaction_pooling = transaction_pooling
        self.version = version
        self.description = description
        self._endpoints: list[_Endpoint[Any]] = []
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        self._writer: async_sessionmaker[AsyncSession] | None = None
        self._reader: async_sessionmaker[AsyncSession] | None = None
        self._tracer = telemetry.tracer(f"aizu.{name}")
        self._traced = False
        # Shared by the endpoints: the bound is per copy of the service, not per verb.
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._read_engine: AsyncEngine | None = None
        self._engine_pool: object = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.micro: Service | None = None
        self._assemble = assemble
        self._components: C | None = None
        self._begun: list[Worker] = []

    @property
    def components(self) -> C:
        """The parts :meth:`start` assembled (a service started; tests reach its workers here)."""
        if self._components is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._components

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
        self._read_engine = create_reader(engine, transaction_pooling=self._transaction_pooling)
        self._engine_pool = engine.pool
        self._reader = rls.sessionmaker(self._read_engine)
        if self._assemble is not None:
            self._components = await self._assemble(self, Resources(nc, nc.jetstream(), self._writer))
        self.micro = await add_service(
            nc, name=self.name, version=self.version, description=self.description, queue_group=self.name
        )
        for ep in self._endpoints:
            await self._add_endpoint(self.micro, ep)
        await nc.flush()  # subscribed at the server before anyone is told the service is up
        await self.begin_workers(nc)
        return self.micro

    async def begin_workers(self, nc: Client) -> None:
        """Begin the components' workers, in their order (after the endpoints answer)."""
        for worker in self._components.workers if self._components is not None else ():
            await worker.begin(nc)
            self._begun.append(worker)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop taking requests, let those in flight finish (they may need a worker: a filing waits
        for the filer), then stop the workers, the last begun first (a consumer before the sender
        it wakes). A request still running after ``grace`` seconds is cancelled and named.
        Requests still waiting in nats-py's queue are not answered: their callers time out (504)."""
        try:
            if self.micro is not None:
                await self.micro.stop()
        except Exception:  # noqa: BLE001 - NATS away: the workers must still stop (the sender records its pass)
            log.warning("%s: its endpoints could not be unsubscribed", self.name, exc_info=True)
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in late:
                log.warning("%s: a request still running after %gs is cancelled: %r", self.name, grace, task)
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=grace)  # a handler's cleanup may itself wait on a database
        while self._begun:
            worker = self._begun.pop()
            try:
                await worker.stop()
            except Exception:  # noqa: BLE001 - one worker's failure must not leave the others running
                log.exception("%s: %r did not stop cleanly", self.name, worker)
        if self._read_engine is not None and self._read_engine.pool is not self._engine_pool:
            await self._read_engine.dispose()  # SQLite's separate readers; PostgreSQL shares one pool

    async def _add_endpoint(self, micro: Service, ep: _Endpoint[Any]) -> None:
        # What Service.add_endpoint does, with the endpoint that overlaps its requests.
        config = EndpointConfig(
            name=ep.verb,
            subject=subjects.endpoint(self.name, ep.verb),
            queue_group=self.name,
            handler=functools.partial(self._serve, ep),
        )
        endpoint = _ConcurrentEndpoint(micro, config, self._in_flight, self._tasks)
        await endpoint._start()
        micro._endpoints.append(endpoint)

    async def _serve(self, ep: _Endpoint[Any], request: Request) -> None:
        incoming = request.headers or {}
        if not self._traced:
            await self._reply(ep, request, incoming, None)
            return
        # A failure leaves the span as _Failed for the endpoint to count; _reply has marked it already.
        with self._tracer.start_as_current_span(
            f"{self.name}.{ep.verb}",
            context=telemetry.extract(incoming),
            kind=trace.SpanKind.SERVER,
            attributes={"messaging.system": "nats", "messaging.destination.name": request.subject},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            await self._reply(ep, request, incoming, span)

    async def _reply(self, ep: _Endpoint[Any], request: Request, incoming: dict[str, str], span: trace.Span | None) -> None:
        try:
            body = await self._handle(ep, request, incoming)
        except ServiceFailure as exc:
            if span is not None:
                span.set_attribute("aizu.error", exc.envelope.code.value)
            raise _Failed(exc.envelope) from exc
        except Exception as exc:
            log.exception("%s.%s failed", self.name, ep.verb)
            if span is not None:
                span.set_status(trace.Status(trace.StatusCode.ERROR))
            raise _Failed(ErrorEnvelope(code=ErrorCode.INTERNAL, title="Internal error")) from exc
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
        ctx = Context(tenant, principal, incoming, sessions, self._reader)
        try:
            result = await ep.handler(ctx, payload)
        finally:
            await ctx.close()
        return result if isinstance(result, bytes) else _ENCODER.encode(result)
