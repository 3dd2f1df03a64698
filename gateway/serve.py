"""Serving the gateway with uvicorn (uvloop and httptools where available)."""

from __future__ import annotations

import os

import uvicorn

from contracts.tenants import Region
from gateway.app import create_app
from gateway.settings import GatewaySettings


def serve_gateway(region: Region) -> None:
    settings = GatewaySettings.from_env()
    uvicorn.run(
        create_app(region, settings),
        host=os.environ.get("AIZU_GATEWAY_HOST", "127.0.0.1" if settings.development else "0.0.0.0"),
        port=int(os.environ.get("AIZU_GATEWAY_PORT", "8000")),
        loop="auto",
        http="auto",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # Stopping: requests in flight have 10 s to finish; a connection that never ends is closed.
        timeout_graceful_shutdown=10,
    )
