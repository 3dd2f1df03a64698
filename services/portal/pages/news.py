"""The town's news and emergency alerts for the home page, read from the notifications service."""

from __future__ import annotations

from contracts import broadcasts as casts
from contracts.subjects import NOTIFICATIONS
from services.portal.view import Page


async def for_home(page: Page) -> tuple[list[casts.NewsItem], list[casts.NewsItem]]:
    """(emergency alerts in force, recent news)."""
    found = await page.fetch(NOTIFICATIONS, casts.NEWS, casts.ListNews(limit=10), casts.News)
    return found.alerts, found.items
