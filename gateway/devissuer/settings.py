"""The development issuer's settings: those of the gateway it is served by."""

from __future__ import annotations

from pathlib import Path

from gateway.devissuer.clients import DEV_GATEWAY_SECRET
from gateway.settings import GatewaySettings
from services.runtime.settings import Environment, Settings


class IssuerSettings(Settings, kw_only=True):
    #: The ``iss`` of every token; the issuer's routes are mounted at its path.
    issuer_url: str = "http://localhost:8000/realms/aizu"
    #: The aizu-gateway client's secret.
    client_secret: str = DEV_GATEWAY_SECRET
    #: Where ``keys.json`` lives.
    key_dir: Path
    development: bool = True

    @classmethod
    def from_env(cls, env: Environment | None = None) -> IssuerSettings:
        """As the gateway's settings say (``aizu dev token`` mints what the running gateway accepts)."""
        gateway = GatewaySettings.from_env(env)
        return cls(issuer_url=gateway.oidc_issuer, client_secret=gateway.oidc_client_secret or DEV_GATEWAY_SECRET,
                   key_dir=Path(gateway.dev_issuer_key_dir), development=gateway.development)
