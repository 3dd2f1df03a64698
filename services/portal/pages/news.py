"""The town's news and emergency alerts for the home page, read from the notifications service."""

from __future__ import annotations

from typing import Any

from services.portal.view import Page


async def for_home(page: Page) -> tuple[list[Any], list[Any]]:
    """(emergency alerts in force, recent announcements)."""
    return [], []
