"""The gateway's settings, read from the environment once, when the process starts."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from msgspec import field

from contracts import uploads
from contracts.tenants import default_directory
from services.runtime.settings import (
    PROJECT_ROOT, Settings, BusSettings, Environment, PaymentSettings, RuntimeSettings, SettingsError, TelemetrySettings, load,
)

#: The development issuer's secret for the gateway client; production sets AIZU_OIDC_CLIENT_SECRET.
DEV_CLIENT_SECRET = "dev-gateway-secret"

DEV_SECRET_KEY = "development-only-secret-key-do-not-deploy"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class GatewaySettings(Settings, kw_only=True):
    bus: BusSettings
    #: Where it listens (None: 127.0.0.1 in development, every interface elsewhere).
    host: str | None = field(default=None, name="AIZU_GATEWAY_HOST")
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = field(default=8000, name="AIZU_GATEWAY_PORT")
    base_domain: str = field(default="localhost", name="AIZU_BASE_DOMAIN")
    #: Proxies whose ``X-Forwarded-Host`` is believed (addresses or networks, comma-separated);
    #: any other peer's is ignored.
    trusted_proxies: tuple[str, ...] = field(default=(), name="AIZU_TRUSTED_PROXIES")
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1)] = field(default=1_048_576, name="AIZU_MAX_BODY_BYTES")
    development: bool = True
    #: The towns' configuration (None: ``tenants/`` at the project root).
    tenants_dir: str | None = field(default=None, name="AIZU_TENANTS_DIR")
    #: How many copies JetStream keeps of the sessions, rate limits and uploads.
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = field(default=1, name="AIZU_STREAM_REPLICAS")
    #: The uploads bucket's size (``contracts/uploads.py``); a bucket made with another keeps its own.
    uploads_max_bytes: Annotated[int, msgspec.Meta(ge=1)] = field(default=uploads.BUCKET_MAX_BYTES, name="AIZU_UPLOADS_MAX_BYTES")
    #: The OpenID provider (Keycloak's realm URL, or the development issuer in the gateway;
    #: unset: the development issuer on this gateway's own port).
    oidc_issuer: str = field(default="http://localhost:8000/realms/aizu", name="AIZU_OIDC_ISSUER")
    oidc_client_id: str = field(default="aizu-gateway", name="AIZU_OIDC_CLIENT_ID")
    oidc_client_secret: str | None = field(default=DEV_CLIENT_SECRET, name="AIZU_OIDC_CLIENT_SECRET")
    #: The audience access tokens must carry to be used here.
    oidc_audience: str = "aizu-gateway"
    #: Serve the development issuer at ``oidc_issuer``'s path (never outside development;
    #: ``AIZU_DEV_ISSUER=0`` turns it off there).
    dev_issuer: bool = field(default=False, name="AIZU_DEV_ISSUER")
    #: Where the development issuer keeps its signing keys (unset: ``var/issuer``).
    dev_issuer_key_dir: str = field(default=str(PROJECT_ROOT / "var" / "issuer"), name="AIZU_OIDC_KEY_DIR")
    #: Signs CSRF tokens; set outside development.
    secret_key: str = field(default=DEV_SECRET_KEY, name="AIZU_SECRET_KEY")
    telemetry: TelemetrySettings = TelemetrySettings()
    #: Server spans for every request; off when nothing would receive them (they cost ~30% of a request).
    tracing: bool = False
    #: Rate-limit policies overriding ``gateway.ratelimit.DEFAULTS``: name → (requests, seconds).
    rate_limits: dict[str, tuple[int, int]] = {}
    #: The payment provider's page origin: the portal's forms may lead there (CSP form-action;
    #: Stripe: ``https://checkout.stripe.com``; unset: the origin of ``AIZU_PSP_URL``).
    payment_page_origin: str | None = field(default=None, name="AIZU_PSP_PAGE_ORIGIN")

    @classmethod
    def from_env(cls, env: Environment | None = None) -> GatewaySettings:
        env = os.environ if env is None else env
        runtime = RuntimeSettings.from_env(env)
        development = runtime.development
        if not development:
            for name in ("AIZU_OIDC_CLIENT_SECRET", "AIZU_SECRET_KEY"):
                if not env.get(name, "").strip():
                    raise SettingsError(f"{name} must be set outside development")
        settings = load(
            cls, env, bus=runtime.bus, development=development,
            telemetry=runtime.telemetry, tracing=runtime.telemetry.exporting,
            rate_limits=rate_limits_from_env(env),
            defaults={"dev_issuer": development,
                      "dev_issuer_key_dir": str(runtime.var / "issuer"),
                      "payment_page_origin": _origin(load(PaymentSettings, env).api_url)},
        )
        for proxy in settings.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)  # fail at start-up, not per request
            except ValueError as exc:
                raise SettingsError(f"AIZU_TRUSTED_PROXIES: {exc}") from None
        # Unset, the issuer is the development one on this gateway's own port (the field's default
        # depends on another field, so it is worked out once both are read).
        issuer = settings.oidc_issuer if env.get("AIZU_OIDC_ISSUER", "").strip() else default_issuer(settings.port)
        return msgspec.structs.replace(
            settings, base_domain=settings.base_domain.lower(), oidc_issuer=issuer.rstrip("/"),
            dev_issuer=development and settings.dev_issuer,
            payment_page_origin=settings.payment_page_origin and settings.payment_page_origin.rstrip("/"))

    @property
    def public_scheme(self) -> str:
        """Residents reach us over HTTPS everywhere but on a developer's machine."""
        return "http" if self.development else "https"

    @property
    def listen_host(self) -> str:
        return self.host or ("127.0.0.1" if self.development else "0.0.0.0")

    @property
    def tenants(self) -> Path:
        return Path(self.tenants_dir) if self.tenants_dir else default_directory()

    def proxy_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)


def default_issuer(port: int) -> str:
    """The development issuer on this gateway's own port: the one answer for the gateway (which
    verifies ``iss``), its development issuer (which mints it) and ``aizu dev token``: on
    ``AIZU_GATEWAY_PORT=8300`` all three say ``localhost:8300``."""
    return f"http://localhost:{port}/realms/aizu"


def rate_limits_from_env(env: Environment) -> dict[str, tuple[int, int]]:
    """``AIZU_RATE_LIMIT_FAQ=120/60``: a policy's requests per seconds, for this deployment."""
    found: dict[str, tuple[int, int]] = {}
    for name, value in env.items():
        if not name.startswith("AIZU_RATE_LIMIT_"):
            continue
        count, _, seconds = value.partition("/")
        if not (count.isdigit() and seconds.isdigit() and int(count) > 0 and int(seconds) > 0):
            raise SettingsError(f"{name} must be requests/seconds, e.g. 60/60, not {value!r}")
        found[name.removeprefix("AIZU_RATE_LIMIT_").lower()] = (int(count), int(seconds))
    return found


def _origin(url: str | None) -> str | None:
    """Our stand-in serves its pages where it serves its API."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
