"""A resident reports road damage with its place, in a browser on this closed network.

The map's tiles come from OpenStreetMap, which cannot be reached here (the browser context refuses
every request that leaves loopback): the form must say so and take the place in words or as
coordinates, with JavaScript and without it.
"""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser import axe
from tests.browser.conftest import BrowserStack, SignedIn, screenshot

REPORT = "道路損傷の通報"


async def _open_form(page: Page, stack: BrowserStack) -> None:
    await page.goto(stack.url("kitakata", "/report"))
    await expect(page.get_by_role("heading", level=1, name="道路などの不具合を知らせる")).to_be_visible()
    await page.get_by_role("link", name=REPORT).click()
    await expect(page.get_by_role("heading", level=1, name=REPORT)).to_be_visible()
    await page.get_by_role("radio", name="穴・陥没").check()
    # 喜多方市 asks one question more than the regional form: whether the road can still be used.
    await page.get_by_role("group", name=re.compile("通行への影響")).get_by_role("radio", name="通れるが危険・支障がある").check()


async def test_without_map_tiles_the_place_is_given_in_words(
    browser_stack: BrowserStack, signed_in: SignedIn, axe_source: str
) -> None:
    page = await signed_in("kitakata.resident")
    await _open_form(page, browser_stack)
    # The tiles failed to load: the map is hidden and the resident is told what to do instead.
    await expect(page.get_by_role("status")).to_have_text(re.compile("地図を読み込めませんでした"))
    await expect(page.get_by_role("application", name="場所を選ぶ地図")).to_be_hidden()
    await axe.check(page, axe_source, "problem report form, map offline")
    await page.get_by_label("場所の説明（目印・住所など）").fill("喜多方市役所前の交差点の北側")
    await page.get_by_label("緯度").fill("37.6508")
    await page.get_by_label("経度").fill("139.8743")
    await page.get_by_role("button", name="通報する").click()
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text(REPORT)


async def test_a_report_posts_without_javascript(browser_stack: BrowserStack, signed_in: SignedIn) -> None:
    page = await signed_in("kitakata.resident", javascript=False)
    await _open_form(page, browser_stack)
    await expect(page.get_by_role("status")).to_have_text("")
    await page.get_by_label("場所の説明（目印・住所など）").fill("押切川公園の駐車場入口")
    await page.get_by_role("button", name="通報する").click()
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()


async def test_a_photo_goes_with_the_report_and_is_kept_while_the_place_is_added(
    browser_stack: BrowserStack, signed_in: SignedIn, axe_source: str
) -> None:
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    page = await signed_in("kitakata.resident")
    await _open_form(page, browser_stack)
    await page.get_by_label(re.compile("^写真")).set_input_files({"name": "道路の穴.png", "mimeType": "image/png", "buffer": photo})
    await page.get_by_role("button", name="通報する").click()
    await expect(page.get_by_role("alert")).to_contain_text("場所の説明か、緯度と経度の両方を入力してください。")
    # The photo was received: it is not asked for again.
    await expect(page.get_by_text("添付済み：道路の穴.png")).to_be_visible()
    await screenshot(page, "report-photo-kept")
    await page.get_by_label("場所の説明（目印・住所など）").fill("喜多方市役所前の交差点")
    await page.get_by_role("button", name="通報する").click()
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()
    link = page.get_by_role("main").get_by_role("link", name="道路の穴.png")
    await expect(link).to_be_visible()
    await axe.check(page, axe_source, "a report received with its photo")
    await screenshot(page, "report-with-photo")
    opened = await page.goto(browser_stack.url("kitakata", await link.get_attribute("href") or ""))
    assert opened is not None and opened.ok and await opened.body() == photo, (opened.status, await opened.text())


async def _reports_filed(page: Page, stack: BrowserStack) -> int:
    await page.goto(stack.url("kitakata", "/applications"))
    return await page.get_by_role("main").get_by_role("link", name=REPORT).count()


async def test_a_report_without_a_place_is_refused_at_the_place_field(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    page = await signed_in("kitakata.resident", javascript=False)
    await _open_form(page, browser_stack)
    before = await _reports_filed(page, browser_stack)
    await page.go_back()
    await page.get_by_role("radio", name="穴・陥没").check()
    await page.get_by_role("radio", name="通れるが危険・支障がある").check()
    await page.get_by_label("緯度").fill("北のほう")
    await page.get_by_role("button", name="通報する").click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("場所の説明か、緯度と経度の両方を入力してください。")
    await expect(summary.get_by_role("link")).to_have_attribute("href", "#address_string")
    await expect(page.get_by_label("場所の説明（目印・住所など）")).to_have_attribute("aria-invalid", "true")
    # What the resident had entered is kept; nothing was filed.
    await expect(page.get_by_role("radio", name="穴・陥没")).to_be_checked()
    await expect(page.get_by_label("緯度")).to_have_value("北のほう")
    assert await _reports_filed(page, browser_stack) == before
