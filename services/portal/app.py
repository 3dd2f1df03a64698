"""The portal service assembled: its page endpoint, the FAQ, and its database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.tenants import Region, load_region
from services.portal import dispatch, faq, faq_base
from services.portal.pages import answer
from services.portal.pages import faq as faq_pages
from services.portal.pages import metrics, push, report, resident, staff
from services.portal.pages import verify as verify_pages
from services.portal.routing import Pages
from services.portal.settings import PortalSettings
from services.runtime.client import BusClient
from services.portal.view import Site
from services.runtime.service import Resources, ServiceApp, Worker

NAME = "portal"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Portal:
    #: The portal's client of the other services (pages read through it).
    bus: BusClient
    workers: Sequence[Worker] = ()


def build(settings: PortalSettings, region: Region | None = None) -> ServiceApp[Portal]:
    """``region``: None: the towns of ``settings.runtime.tenants``."""
    region = region or load_region(settings.runtime.tenants)
    pages = Pages()
    pages.include(resident.pages)
    pages.include(answer.pages)
    pages.include(staff.pages)
    pages.include(report.pages)
    pages.include(metrics.pages)
    pages.include(faq_pages.pages)
    pages.include(push.pages)
    pages.include(verify_pages.pages)
    # The FAQ is checked at start: a wrong tenants/faq file stops the service with its name and field.
    site = Site(region=region, faq=faq_base.FaqBase.load(settings.runtime.tenants / "faq", region),
                faq_new_per_day=settings.faq_new_per_day)

    async def assemble(app: ServiceApp[Portal], res: Resources) -> Portal:
        parts = Portal(bus=BusClient(res.nc, settings.read_timeout))
        dispatch.register(app, pages, site, parts.bus)
        return parts

    app: ServiceApp[Portal] = ServiceApp(
        NAME, VERSION, "Residents' portal, staff console and council dashboard, rendered as HTML", assemble=assemble,
        transaction_pooling=settings.runtime.transaction_pooling)
    faq.register(app, site.faq, settings.faq_new_per_day)
    return app
