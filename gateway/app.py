"""The gateway application: routes, tenancy, callers, problems, and the NATS connection's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

from contracts.tenants import Region
from gateway import problems
from gateway.bodies import CheckedRequest
from gateway.headers import security_headers
from gateway.openapi import OpenAPIJson, OpenAPISwagger
from gateway.ratelimit import RateLimiter, limited
from gateway.bus import Bus
from gateway.access import CallerProvider
from gateway.audit import AuditLog
from gateway.routes import applications, faq, health, identity, metrics, open311, payments, portal, receipts, signin, table
from gateway.routes.options import with_options
from gateway.session_store import MAX_AGE as SESSION_MAX_AGE
from gateway.session_store import NatsKVStore
from gateway.tokens import TokenVerifier
from gateway.settings import GatewaySettings
from gateway.tenancy import TenantResolver
from services.runtime import streams, telemetry
from services.runtime.bus import connect, disconnect
from services.runtime.files import FileBucket


#: Bearer-token and machine routes: no session cookie is read or set there, and no CSRF check
#: applies (a forged cross-site request carries no bearer token).
NO_SESSION_PATHS = ["/api/", "/realms/", "/open311/", "/schema", "/healthz", "/readyz"]


def create_app(region: Region, settings: GatewaySettings) -> Litestar:
    telemetry.setup("gateway", settings.telemetry)
    resolver = TenantResolver(region, settings)

    sessions = NatsKVStore()
    limiter = RateLimiter(settings.rate_limits)
    files = FileBucket()
    verifier = TokenVerifier(
        settings.oidc_issuer, settings.oidc_audience, settings.oidc_client_id, settings.oidc_client_secret
    )

    @asynccontextmanager
    async def bus_lifespan(app: Litestar) -> AsyncIterator[None]:
        nc = await connect(settings.bus, "gateway")
        js = nc.jetstream()
        await streams.ensure(js, streams.AUDIT, replicas=settings.stream_replicas)
        await sessions.open(js, settings.stream_replicas)
        await limiter.open(js, settings.stream_replicas)
        await files.create(js, settings.stream_replicas, settings.uploads_max_bytes)
        app.state.uploads = files
        app.state.bus = Bus(nc, settings.bus.request_timeout)
        app.state.audit = AuditLog(js)
        try:
            yield
        finally:
            await disconnect(nc)

    extra: list[Router] = []
    if settings.dev_issuer:
        from gateway.devissuer.routes import issuer_router

        extra.append(
            issuer_router(
                region,
                settings.oidc_issuer,
                settings.dev_issuer_key_dir,
                development=settings.development,
                client_secret=settings.oidc_client_secret or "",
                token_guards=[limited("token")],
            )
        )

    return Litestar(
        route_handlers=with_options([
            *extra,
            health.healthz,
            health.readyz,
            identity.tenant_profile,
            identity.me,
            *table.HANDLERS,
            applications.print_document,
            applications.get_attachment,
            *payments.ROUTES,
            metrics.towns,
            metrics.towns_csv,
            open311.router,
            receipts.town_keys,
            signin.login,
            signin.callback,
            signin.logout,
            signin.session_principal,
            faq.search_faq,
            faq.unanswered_faq,
            portal.page,
        ]),
        state=State({"settings": settings, "resolver": resolver, "verifier": verifier, "limiter": limiter}),
        stores={"sessions": sessions},
        middleware=[
            ServerSideSessionConfig(
                key="aizu_session",
                store="sessions",
                max_age=SESSION_MAX_AGE,
                secure=not settings.development,
                httponly=True,
                samesite="lax",
                exclude=NO_SESSION_PATHS,
            ).middleware
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="aizu_csrf",
            cookie_secure=not settings.development,
            cookie_samesite="lax",
            exclude=NO_SESSION_PATHS,
        ),
        dependencies={
            "tenant": Provide(resolver, sync_to_thread=False),
            "caller": Provide(CallerProvider(verifier)),
        },
        lifespan=[bus_lifespan],
        before_send=[security_headers(settings.development)],
        on_shutdown=[verifier.aclose],
        plugins=[problems.plugin(), *([OpenTelemetryPlugin(OpenTelemetryConfig())] if settings.tracing else [])],
        exception_handlers=problems.EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        request_class=CheckedRequest,
        openapi_config=OpenAPIConfig(
            title="Aizu shared services",
            version="1.0.0",
            path="/schema",
            # The docs page loads Swagger UI from a CDN: development only; production serves the JSON.
            render_plugins=[OpenAPIJson(), *([OpenAPISwagger()] if settings.development else [])],
        ),
        debug=False,
    )
