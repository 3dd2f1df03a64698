"""Phone notifications on this device (web push): the service worker, the script that subscribes,
and the form post that hands the subscription to the notifications service."""

from __future__ import annotations

from pathlib import Path

import msgspec

from contracts import notifications as notes
from contracts.errors import from_validation_error
from contracts.portal import PageReply
from contracts.subjects import NOTIFICATIONS
from services.portal.routing import Pages, ThisPage
from services.portal.view import Page

pages = Pages()
ASSETS = Path(__file__).parent.parent / "assets"
PUSH_SCRIPT = (ASSETS / "push.js").read_text(encoding="utf-8")
SERVICE_WORKER = (ASSETS / "sw.js").read_text(encoding="utf-8")


@pages.page("/sw.js")
async def service_worker(page: ThisPage) -> PageReply:
    return PageReply(html=SERVICE_WORKER, media_type="text/javascript")


@pages.page("/assets/push.js")
async def push_script(page: ThisPage) -> PageReply:
    return PageReply(html=PUSH_SCRIPT, media_type="text/javascript")


@pages.page("/preferences/push", methods=("POST",), audience="resident")
async def subscribe(page: ThisPage) -> PageReply:
    try:
        subscription = msgspec.convert(
            {"endpoint": page.field("endpoint"), "keys": {"p256dh": page.field("p256dh"), "auth": page.field("auth")}},
            notes.PushSubscription,
        )
    except msgspec.ValidationError as exc:
        raise from_validation_error(exc) from exc
    await page.fetch(NOTIFICATIONS, notes.PUT_PUSH_SUBSCRIPTION, subscription, notes.PushSubscriptionSaved)
    return page.redirect("/preferences?push=1")


async def public_key(page: Page) -> str:
    return (await page.fetch(NOTIFICATIONS, notes.PUSH_KEY, notes.GetPushKey(), notes.PushKey)).public_key
