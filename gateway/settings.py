"""Gateway settings, read once from environment variables."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

import msgspec

from services.runtime import telemetry
from services.runtime.settings import BusSettings

#: The development issuer's secret for the gateway client; production sets AIZU_OIDC_CLIENT_SECRET.
DEV_CLIENT_SECRET = "dev-gateway-secret"

DEV_SECRET_KEY = "development-only-secret-key-do-not-deploy"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    bus: BusSettings
    base_domain: str = "localhost"
    #: Proxies whose ``X-Forwarded-Host`` is believed; any other peer's is ignored.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 1_048_576
    development: bool = True
    #: The OpenID provider (Keycloak's realm URL, or the development issuer in the gateway).
    oidc_issuer: str = "http://localhost:8000/realms/aizu"
    oidc_client_id: str = "aizu-gateway"
    oidc_client_secret: str | None = DEV_CLIENT_SECRET
    #: The audience access tokens must carry to be used here.
    oidc_audience: str = "aizu-gateway"
    #: Serve the development issuer at ``oidc_issuer``'s path (never outside development).
    dev_issuer: bool = False
    #: Where the development issuer keeps its signing keys (None: ``var/issuer``).
    dev_issuer_key_dir: str | None = None
    #: Signs CSRF tokens; set AIZU_SECRET_KEY outside development.
    secret_key: str = DEV_SECRET_KEY
    #: Server spans for every request; off when nothing would receive them (they cost ~30% of a request).
    tracing: bool = False
    #: Rate-limit policies overriding ``gateway.ratelimit.DEFAULTS``: name → (requests, seconds).
    rate_limits: dict[str, tuple[int, int]] = {}
    #: The payment provider's page origin: the portal's forms may lead there (CSP form-action).
    payment_page_origin: str | None = None

    @classmethod
    def from_env(cls) -> "GatewaySettings":
        proxies = tuple(p.strip() for p in os.environ.get("AIZU_TRUSTED_PROXIES", "").split(",") if p.strip())
        for proxy in proxies:
            ipaddress.ip_network(proxy, strict=False)  # fail at start-up, not per request
        development = os.environ.get("AIZU_ENV", "development") == "development"
        secret = os.environ.get("AIZU_OIDC_CLIENT_SECRET") or (DEV_CLIENT_SECRET if development else None)
        if not development and not secret:
            raise ValueError("AIZU_OIDC_CLIENT_SECRET must be set outside development")
        return cls(
            bus=BusSettings.from_env(),
            oidc_issuer=oidc_issuer_from_env(),
            oidc_client_id=os.environ.get("AIZU_OIDC_CLIENT_ID", "aizu-gateway"),
            oidc_client_secret=secret,
            secret_key=_secret_key(development),
            base_domain=os.environ.get("AIZU_BASE_DOMAIN", "localhost").lower(),
            trusted_proxies=proxies,
            max_body_bytes=int(os.environ.get("AIZU_MAX_BODY_BYTES", "1048576")),
            development=development,
            dev_issuer=development and os.environ.get("AIZU_DEV_ISSUER", "1") != "0",
            dev_issuer_key_dir=os.environ.get("AIZU_OIDC_KEY_DIR"),
            tracing=telemetry.exporting(),
            rate_limits=rate_limits_from_env(),
            payment_page_origin=payment_page_origin_from_env(),
        )

    @property
    def public_scheme(self) -> str:
        """Residents reach us over HTTPS everywhere but on a developer's machine."""
        return "http" if self.development else "https"

    def proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)


def oidc_issuer_from_env() -> str:
    """``AIZU_OIDC_ISSUER``, else the development issuer on this gateway's own port.

    The one answer for the gateway (which verifies ``iss``), its development issuer (which mints
    it) and ``aizu dev token``: on ``AIZU_GATEWAY_PORT=8300`` all three say ``localhost:8300``.
    """
    port = os.environ.get("AIZU_GATEWAY_PORT", "8000")
    return os.environ.get("AIZU_OIDC_ISSUER", f"http://localhost:{port}/realms/aizu").rstrip("/")


def rate_limits_from_env() -> dict[str, tuple[int, int]]:
    """``AIZU_RATE_LIMIT_FAQ=120/60``: a policy's requests per seconds, for this deployment."""
    found: dict[str, tuple[int, int]] = {}
    for name, value in os.environ.items():
        if not name.startswith("AIZU_RATE_LIMIT_"):
            continue
        count, _, seconds = value.partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ValueError(f"{name} must be requests/seconds, e.g. 60/60, not {value!r}")
        found[name.removeprefix("AIZU_RATE_LIMIT_").lower()] = (int(count), int(seconds))
    return found


def _secret_key(development: bool) -> str:
    key = os.environ.get("AIZU_SECRET_KEY")
    if key:
        return key
    if not development:
        raise ValueError("AIZU_SECRET_KEY must be set outside development")
    return DEV_SECRET_KEY


def payment_page_origin_from_env() -> str | None:
    """``AIZU_PSP_PAGE_ORIGIN`` (Stripe: ``https://checkout.stripe.com``), else the origin of
    ``AIZU_PSP_URL`` (our stand-in serves its pages where it serves its API)."""
    explicit = os.environ.get("AIZU_PSP_PAGE_ORIGIN")
    if explicit:
        return explicit.rstrip("/")
    api = os.environ.get("AIZU_PSP_URL")
    if not api:
        return None
    parts = urlsplit(api)
    return f"{parts.scheme}://{parts.netloc}"
