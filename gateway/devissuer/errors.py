"""OAuth 2.0 error responses (RFC 6749 §5.2, RFC 6750 §3), kept apart from the gateway's problem+json.

OIDC client libraries parse ``{"error": ..., "error_description": ...}``; an RFC 9457 body would
break them, so these errors never travel through the gateway's problem-details plugin.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class OAuthErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    error: str
    error_description: str = ""


class OAuthError(Exception):
    """A refusal the client can act on: the OAuth error code, why, and the HTTP status."""

    def __init__(
        self, error: str, description: str, status: int = 400, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> OAuthErrorBody:
        return OAuthErrorBody(error=self.error, error_description=self.description)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_client(description: str) -> OAuthError:
    # RFC 6749 §5.2: 401 with a challenge for the scheme the client may use.
    return OAuthError("invalid_client", description, 401, {"WWW-Authenticate": 'Basic realm="aizu"'})


def invalid_token(description: str) -> OAuthError:
    challenge = f'Bearer realm="aizu", error="invalid_token", error_description="{description}"'
    return OAuthError("invalid_token", description, 401, {"WWW-Authenticate": challenge})


class IssuerUnavailable(RuntimeError):
    """The development issuer was asked for outside development, where Keycloak is the issuer."""
