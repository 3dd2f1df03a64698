"""One request to a service over the bus: headers out (trace, principal), bytes or a failure back.

The gateway's routes and the services that read from other services (the portal) both use it, so
a service's error reaches every caller as the same ``ServiceFailure``.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

from contracts import headers as h
from contracts import principal as principals
from contracts import subjects
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure, failure
from contracts.principal import Principal
from services.runtime import telemetry

T = TypeVar("T")

_ENVELOPE = msgspec.json.Decoder(ErrorEnvelope)


class BusClient:
    def __init__(self, nc: Client, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout

    async def request(
        self,
        tenant: str,
        service: str,
        verb: str,
        payload: bytes = b"{}",
        principal: Principal | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """``timeout``: this request's own, instead of the client's (a page that reads several services)."""
        timeout = timeout or self.timeout
        outgoing: dict[str, str] = dict(headers or {})
        telemetry.inject(outgoing)
        if principal is not None:
            outgoing[h.PRINCIPAL] = principals.encode(principal)
        subject = subjects.request(tenant, service, verb)
        try:
            reply = await self.nc.request(subject, payload, timeout=timeout, headers=outgoing or None)
        except NoRespondersError as exc:
            raise failure(ErrorCode.UNAVAILABLE, "Service unavailable", f"no {service} service is running") from exc
        except NatsTimeout as exc:
            raise failure(
                ErrorCode.TIMEOUT, "Service timed out",
                f"{service} did not answer in {timeout:g}s; the request may have been applied: "
                "retry it with the same Idempotency-Key, which gives the first answer if it was",
            ) from exc
        if reply.headers and h.SERVICE_ERROR_CODE in reply.headers:
            try:
                envelope = _ENVELOPE.decode(reply.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                envelope = ErrorEnvelope(code=ErrorCode.INTERNAL, title=reply.headers.get(h.SERVICE_ERROR, "Error"))
            raise ServiceFailure(envelope)
        return reply.data

    async def fetch(
        self,
        tenant: str,
        service: str,
        verb: str,
        message: msgspec.Struct | None,
        reply_type: type[T],
        principal: Principal | None = None,
        headers: dict[str, str] | None = None,
    ) -> T:
        """``request`` with the message encoded and the reply decoded as ``reply_type``."""
        payload = msgspec.json.encode(message) if message is not None else b"{}"
        data = await self.request(tenant, service, verb, payload, principal, headers)
        return msgspec.json.decode(data, type=reply_type)
