"""The portal service assembled: its page endpoint, the FAQ, and its database."""

from __future__ import annotations

import os
from pathlib import Path

from nats.aio.client import Client
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.tenants import Region, default_directory, load_region
from services.portal import dispatch, faq, faq_base
from services.portal.pages import answer
from services.portal.pages import faq as faq_pages
from services.portal.pages import metrics, push, report, resident, staff
from services.portal.pages import verify as verify_pages
from services.portal.routing import Routes
from services.runtime.client import BusClient
from services.runtime.service import ServiceApp

NAME = "portal"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"
#: Seconds a page waits for another service before it says so (``AIZU_PORTAL_READ_TIMEOUT``);
#: shorter than the gateway's wait for the page, so the reader gets the portal's own answer.
READ_TIMEOUT = float(os.environ.get("AIZU_PORTAL_READ_TIMEOUT", "2"))


def build(region: Region | None = None) -> ServiceApp:
    app = ServiceApp(NAME, VERSION, "Residents' portal, staff console and council dashboard, rendered as HTML")
    region = region or load_region(default_directory())
    app.parts["region"] = region
    routes = Routes()
    routes.include(resident.routes)
    routes.include(answer.routes)
    routes.include(staff.routes)
    routes.include(report.routes)
    routes.include(metrics.routes)
    routes.include(faq_pages.routes)
    routes.include(push.routes)
    routes.include(verify_pages.routes)
    dispatch.register(app, routes, region)
    # The FAQ is checked at start: a wrong tenants/faq file stops the service with its name and field.
    faq.register(app, faq_base.FaqBase.load(faq_base.default_directory(), region))

    async def connect_bus(nc: Client, engine: AsyncEngine) -> None:
        app.parts["bus"] = BusClient(nc, READ_TIMEOUT)

    app.on_start.append(connect_bus)
    return app
