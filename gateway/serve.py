"""Serving the gateway with uvicorn (uvloop and httptools where available)."""

from __future__ import annotations

import uvicorn

from contracts.tenants import Region
from gateway.app import create_app
from gateway.settings import GatewaySettings


def serve_gateway(settings: GatewaySettings, region: Region) -> None:
    uvicorn.run(
        create_app(region, settings),
        host=settings.listen_host,
        port=settings.port,
        loop="auto",
        http="auto",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        # Stopping: requests in flight have 10 s to finish; a connection that never ends is closed.
        timeout_graceful_shutdown=10,
    )
