"""Gateway settings, read once from environment variables."""

from __future__ import annotations

import ipaddress
import os

import msgspec

from services.runtime import telemetry
from services.runtime.settings import BusSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    bus: BusSettings
    base_domain: str = "localhost"
    #: Proxies whose ``X-Forwarded-Host`` is believed; any other peer's is ignored.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    development: bool = True
    #: Server spans for every request; off when nothing would receive them (they cost ~30% of a request).
    tracing: bool = False

    @classmethod
    def from_env(cls) -> "GatewaySettings":
        proxies = tuple(p.strip() for p in os.environ.get("AIZU_TRUSTED_PROXIES", "").split(",") if p.strip())
        for proxy in proxies:
            ipaddress.ip_network(proxy, strict=False)  # fail at start-up, not per request
        return cls(
            bus=BusSettings.from_env(),
            base_domain=os.environ.get("AIZU_BASE_DOMAIN", "localhost").lower(),
            trusted_proxies=proxies,
            max_body_bytes=int(os.environ.get("AIZU_MAX_BODY_BYTES", "1048576")),
            development=os.environ.get("AIZU_ENV", "development") == "development",
            tracing=telemetry.exporting(),
        )

    def proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)
