"""The realm's OIDC clients as IDENTITY.md declares them, and which redirects development accepts."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Literal
from urllib.parse import urlsplit

import msgspec

GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]

GATEWAY = "aizu-gateway"
PORTAL = "aizu-portal"
CLI = "aizu-cli"
DEV_GATEWAY_SECRET = "dev-gateway-secret"  # noqa: S105 - the documented development default
CALLBACK_PATH = "/auth/callback"


class Client(msgspec.Struct, frozen=True, kw_only=True):
    client_id: str
    #: ``None`` for a public client: it cannot keep a secret, so PKCE is what binds its code.
    secret: str | None = None
    grant_types: frozenset[GrantType]

    @property
    def public(self) -> bool:
        return self.secret is None

    def secret_matches(self, offered: str | None) -> bool:
        if self.secret is None or offered is None:
            return False
        return hmac.compare_digest(self.secret.encode(), offered.encode())


def dev_clients(gateway_secret: str = DEV_GATEWAY_SECRET) -> dict[str, Client]:
    browser = frozenset[GrantType]({"authorization_code", "refresh_token"})
    clients = (
        Client(client_id=GATEWAY, secret=gateway_secret, grant_types=browser | {"client_credentials"}),
        Client(client_id=PORTAL, grant_types=browser),
        # Keycloak mints nothing for aizu-cli interactively; here it may also sign in through a
        # loopback redirect (RFC 8252), which is how a CLI would do it against a real realm.
        Client(client_id=CLI, grant_types=browser),
    )
    return {c.client_id: c for c in clients}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _dev_origin(uri: str) -> tuple[str, str] | None:
    """``(host kind, path)`` of a development URI, or ``None`` when it may never receive a code.

    Accepted: ``http://localhost``/``http://<town>.localhost`` on any port (the gateway serves each
    town on its own subdomain) and loopback IPs (RFC 8252 native and test clients). Fragments and
    credentials in the URI are refused: a code must not leak through either.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port  # raises on a malformed port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme != "http" or parts.fragment or "#" in uri or parts.username or parts.password or not host:
        return None
    if port is None and parts.netloc.endswith(":"):
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost", parts.path
    if _is_loopback(host):
        return "loopback", parts.path
    return None


def redirect_uri_allowed(uri: str) -> bool:
    """``http://*.localhost:<port>/auth/callback`` as in the realm, plus any loopback path."""
    origin = _dev_origin(uri)
    if origin is None:
        return False
    kind, path = origin
    return kind == "loopback" or path == CALLBACK_PATH


def post_logout_uri_allowed(uri: str) -> bool:
    """After sign-out a person goes back to their town's pages, so any path of an accepted host."""
    return _dev_origin(uri) is not None
