"""The gateway application: routes, tenancy, problems, and the NATS connection's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

from contracts.tenants import Region
from gateway import problems
from gateway.bus import Bus
from gateway.routes import catalog, health
from gateway.settings import GatewaySettings
from gateway.tenancy import TenantResolver
from services.runtime import telemetry
from services.runtime.bus import connect


def create_app(region: Region, settings: GatewaySettings) -> Litestar:
    telemetry.setup("gateway")
    resolver = TenantResolver(region, settings)

    @asynccontextmanager
    async def bus_lifespan(app: Litestar) -> AsyncIterator[None]:
        nc = await connect(settings.bus, "gateway")
        app.state.bus = Bus(nc, settings.bus.request_timeout)
        try:
            yield
        finally:
            await nc.drain()

    return Litestar(
        route_handlers=[
            health.healthz,
            health.readyz,
            catalog.tenant_profile,
            catalog.list_procedures,
            catalog.get_procedure,
        ],
        dependencies={"tenant": Provide(resolver, sync_to_thread=False)},
        lifespan=[bus_lifespan],
        plugins=[problems.plugin(), *([OpenTelemetryPlugin(OpenTelemetryConfig())] if settings.tracing else [])],
        exception_handlers=problems.EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Aizu shared services",
            version="1.0.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        debug=False,
    )
