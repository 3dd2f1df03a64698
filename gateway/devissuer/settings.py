"""The development issuer's settings, read once from the same environment as the gateway's."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from gateway.devissuer.clients import DEV_GATEWAY_SECRET
from gateway.devissuer.keys import default_key_dir
from gateway.settings import oidc_issuer_from_env


class IssuerSettings(msgspec.Struct, frozen=True, kw_only=True):
    #: ``AIZU_OIDC_ISSUER``: the ``iss`` of every token; the issuer's routes are mounted at its path.
    issuer_url: str = "http://localhost:8000/realms/aizu"
    #: ``AIZU_OIDC_CLIENT_SECRET``: the aizu-gateway client's secret.
    client_secret: str = DEV_GATEWAY_SECRET
    #: ``AIZU_OIDC_KEY_DIR``: where ``keys.json`` lives (default ``var/issuer``).
    key_dir: Path
    development: bool = True

    @classmethod
    def from_env(cls) -> "IssuerSettings":
        key_dir = os.environ.get("AIZU_OIDC_KEY_DIR")
        return cls(
            issuer_url=oidc_issuer_from_env(),
            client_secret=os.environ.get("AIZU_OIDC_CLIENT_SECRET") or DEV_GATEWAY_SECRET,
            key_dir=Path(key_dir) if key_dir else default_key_dir(),
            development=os.environ.get("AIZU_ENV", "development") == "development",
        )
