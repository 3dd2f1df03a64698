"""One NATS request per route: headers out (trace, principal), bytes or a problem back."""

from __future__ import annotations

import msgspec
from nats.aio.client import NO_RESPONDERS_STATUS
from nats.js.api import Header
from nats.errors import TimeoutError as NatsTimeout

from contracts import subjects
from contracts.principal import Principal
from contracts.tenant_profile import TenantProfile
from gateway.tenancy import require_town
from services.runtime.client import BusClient


class Bus(BusClient):
    """The gateway's bus: a route's request for the town of the host, and service discovery."""

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
