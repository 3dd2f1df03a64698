"""An emergency alert, written and approved by two of 喜多方市's administrators in the staff console,
shown as the banner on the town's home page, and on no other town's."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.browser import axe
from tests.browser.conftest import DESKTOP, BrowserStack, NewContext, SignedIn, reload_until, screenshot

TITLE = "【訓練】大雨による避難指示"
BODY = "これは訓練です。喜多方市全域に避難指示が出たという想定で、避難所の場所を確かめてください。"


def banner(page: Page) -> Locator:
    return page.get_by_role("alert").filter(has=page.get_by_role("heading", name=re.compile(re.escape(TITLE))))


async def test_an_approved_emergency_alert_is_the_home_pages_banner(
    browser_stack: BrowserStack, new_context: NewContext, signed_in: SignedIn, axe_source: str
) -> None:
    admin = await signed_in("kitakata.admin", viewport=DESKTOP)
    await admin.goto(browser_stack.url("kitakata", "/staff/broadcasts"))
    await admin.get_by_role("radio", name="緊急情報").check()
    await admin.get_by_role("radio", name="町の住民全員").check()
    await admin.get_by_label(re.compile("^件名（日本語）")).fill(TITLE)
    await admin.get_by_label(re.compile("^本文（日本語）")).fill(BODY)
    await admin.get_by_label(re.compile("^件名（英語）")).fill("[Drill] Evacuation order for heavy rain")
    await admin.get_by_label(re.compile("^本文（英語）")).fill("This is a drill. Please check where your evacuation centre is.")
    await admin.get_by_role("button", name="配信する").click()
    await expect(admin.get_by_role("status")).to_contain_text("承認")
    mine = admin.get_by_role("listitem").filter(has=admin.get_by_role("heading", name=TITLE))
    await expect(mine).to_contain_text("承認待ち")
    # Nobody approves their own alert: the author has no approve button.
    await expect(mine.get_by_role("button", name="内容を確かめて承認する")).to_have_count(0)

    anyone = await (await new_context()).new_page()
    await anyone.goto(browser_stack.url("kitakata", "/"))
    await expect(banner(anyone)).to_have_count(0)

    second = await signed_in("kitakata.admin2", viewport=DESKTOP)
    await second.goto(browser_stack.url("kitakata", "/staff/broadcasts"))
    pending = second.get_by_role("listitem").filter(has=second.get_by_role("heading", name=TITLE))
    await pending.get_by_role("button", name="内容を確かめて承認する").click()
    await expect(second.get_by_role("status")).to_contain_text("承認しました")

    await reload_until(anyone, browser_stack.url("kitakata", "/"), banner(anyone))
    await expect(banner(anyone)).to_contain_text(BODY)
    await axe.check(anyone, axe_source, "home with an emergency alert")
    await screenshot(anyone, "home-emergency")
    # In English too, and never on another town's home page.
    await anyone.goto(browser_stack.url("kitakata", "/?lang=en"))
    await expect(anyone.get_by_role("alert")).to_contain_text("Evacuation order")
    await anyone.goto(browser_stack.url("aizuwakamatsu", "/"))
    await expect(banner(anyone)).to_have_count(0)
