"""Which town (or the council) a request is for: always the Host, never the body or the query."""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException

from contracts.tenant_profile import TenantProfile
from contracts.tenants import Region
from gateway.settings import GatewaySettings, IPNetwork


def profiles(region: Region) -> dict[str, TenantProfile]:
    found = {
        t.slug: TenantProfile(
            slug=t.slug, kind="municipality", name_ja=t.name_ja, name_en=t.name_en,
            code=t.code, contact=t.contact, branding=t.branding,
        )
        for t in region.towns
    }
    c = region.council
    found[c.slug] = TenantProfile(
        slug=c.slug, kind="council", name_ja=c.name_ja, name_en=c.name_en, code=None, contact=c.contact, branding=c.branding
    )
    return found


class TenantResolver:
    def __init__(self, region: Region, settings: GatewaySettings) -> None:
        self._profiles = profiles(region)
        self._suffix = "." + settings.base_domain
        self._proxies: tuple[IPNetwork, ...] = settings.proxy_networks()

    def _from_trusted_proxy(self, request: Request[Any, Any, Any]) -> bool:
        return request.client is not None and self._is_proxy(request.client.host)

    def client_address(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The caller's address: the peer, or behind our own proxies the last address in
        ``X-Forwarded-For`` that is not one of them (what a client writes there itself is ignored)."""
        peer = connection.client.host if connection.client else ""
        if not self._is_proxy(peer):
            return peer
        hops = [hop.strip() for hop in connection.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_proxy(hop):
                return hop
        return peer

    def _is_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self._proxies)

    def host_of(self, request: Request[Any, Any, Any]) -> str:
        host = request.headers.get("host", "")
        if self._from_trusted_proxy(request):
            forwarded = request.headers.get("x-forwarded-host")
            if forwarded:
                host = forwarded.split(",")[0].strip()
        return host

    def resolve(self, host: str) -> TenantProfile | None:
        name = host.lower().partition(":")[0]
        if not name.endswith(self._suffix):
            return None
        label = name[: -len(self._suffix)]
        return self._profiles.get(label)

    def __call__(self, request: Request[Any, Any, Any]) -> TenantProfile:
        """Litestar dependency: the caller's tenant, or a 404 problem for a host we do not serve."""
        profile = self.resolve(self.host_of(request))
        if profile is None:
            raise NotFoundException(detail="No municipality is served at this host")
        return profile


def require_town(profile: TenantProfile) -> str:
    """The town slug for routes that only a municipality serves (not the council host)."""
    if profile.kind != "municipality":
        raise NotFoundException(detail="This route is served at a municipality's host, not the council's")
    return profile.slug
