"""One NATS request per route: headers out (trace, principal), bytes or a problem back."""

from __future__ import annotations

import msgspec
from nats.aio.client import NO_RESPONDERS_STATUS, Client
from nats.js.api import Header
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

from contracts import headers as h
from contracts import principal as principals
from contracts import subjects
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure, failure
from contracts.principal import Principal
from contracts.tenant_profile import TenantProfile
from gateway.tenancy import require_town
from services.runtime import telemetry

_ENVELOPE = msgspec.json.Decoder(ErrorEnvelope)


class Bus:
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
    ) -> bytes:
        outgoing: dict[str, str] = dict(headers or {})
        telemetry.inject(outgoing)
        if principal is not None:
            outgoing[h.PRINCIPAL] = principals.encode(principal)
        subject = subjects.request(tenant, service, verb)
        try:
            reply = await self.nc.request(subject, payload, timeout=self.timeout, headers=outgoing or None)
        except NoRespondersError as exc:
            raise failure(ErrorCode.UNAVAILABLE, "Service unavailable", f"no {service} service is running") from exc
        except NatsTimeout as exc:
            raise failure(ErrorCode.TIMEOUT, "Service timed out", f"{service} did not answer in {self.timeout:g}s") from exc
        if reply.headers and h.SERVICE_ERROR_CODE in reply.headers:
            try:
                envelope = _ENVELOPE.decode(reply.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                envelope = ErrorEnvelope(code=ErrorCode.INTERNAL, title=reply.headers.get(h.SERVICE_ERROR, "Error"))
            raise ServiceFailure(envelope)
        return reply.data

    async def call(
        self,
        tenant: TenantProfile,
        service: str,
        verb: str,
        message: msgspec.Struct | None = None,
        principal: Principal | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """``request`` for a route: the town of the host (never the council's), the message encoded."""
        payload = msgspec.json.encode(message) if message is not None else b"{}"
        return await self.request(require_town(tenant), service, verb, payload, principal, headers)

    async def instances(self, service: str, first: float = 1.0, gap: float = 0.1) -> int:
        """How many copies of a service answer a ``$SRV.PING``: the first within ``first`` seconds,
        the others each within ``gap`` of the one before (a busy copy answers late, not never)."""
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        try:
            await self.nc.publish(subjects.ping(service), b"", reply=inbox)
            count = 0
            while True:
                try:
                    msg = await sub.next_msg(timeout=first if count == 0 else gap)
                except NatsTimeout:
                    return count
                # With no service subscribed, the server answers once with a no-responders status.
                if msg.headers and msg.headers.get(Header.STATUS) == NO_RESPONDERS_STATUS:
                    return count
                count += 1
        finally:
            await sub.unsubscribe()
