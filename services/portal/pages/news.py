"""The town's news and emergency alerts for the home page, read from the notifications service."""

from __future__ import annotations

import logging

from contracts import broadcasts as casts
from contracts.errors import ErrorCode, ServiceFailure
from contracts.subjects import NOTIFICATIONS
from services.portal.view import Page

log = logging.getLogger(__name__)


async def for_home(page: Page) -> tuple[list[casts.NewsItem], list[casts.NewsItem]]:
    """(emergency alerts in force, recent news). The home page is the way in to every procedure,
    so it still renders while the notifications service is away, without the news."""
    try:
        found = await page.fetch(NOTIFICATIONS, casts.NEWS, casts.ListNews(limit=10), casts.News)
    except ServiceFailure as exc:
        if exc.envelope.code not in (ErrorCode.UNAVAILABLE, ErrorCode.TIMEOUT):
            raise
        log.warning("home page of %s without news: %s", page.tenant.slug, exc)
        return [], []
    return found.alerts, found.items
