"""The built-in OIDC issuer of development, laid out like Keycloak's realm ``aizu`` (IDENTITY.md).

It exists so that ``make dev`` needs no Keycloak: the gateway mounts :func:`issuer_router` and
``aizu dev token`` calls :func:`dev_token`. Production never builds it.
"""

from __future__ import annotations

from gateway.devissuer.errors import IssuerUnavailable
from gateway.devissuer.keys import KeyStore
from gateway.devissuer.routes import issuer_router
from gateway.devissuer.settings import IssuerSettings
from gateway.devissuer.tokens import dev_token

__all__ = ["IssuerSettings", "IssuerUnavailable", "KeyStore", "dev_token", "issuer_router"]
