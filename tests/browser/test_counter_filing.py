"""Nobody left behind: a caseworker of 喜多方市 files 住民票の写し at the counter for a resident who
does not use a phone, and the filing joins the same queue as the online ones, marked 窓口."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, BrowserStack, SignedIn, screenshot

PROCEDURE = "住民票の写しの交付請求"


async def test_a_caseworker_files_at_the_counter(browser_stack: BrowserStack, signed_in: SignedIn) -> None:
    page = await signed_in("kitakata.caseworker", viewport=DESKTOP)
    await page.goto(browser_stack.url("kitakata", "/staff/counter"))
    await page.get_by_role("link", name=PROCEDURE).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(PROCEDURE)

    at_desk = page.get_by_role("group", name=re.compile("窓口に来た方"))
    await at_desk.get_by_label(re.compile("^氏名")).fill("塩川 ハル")
    await at_desk.get_by_label(re.compile("^住所")).fill("福島県喜多方市塩川町字中町100")
    birthdate = at_desk.get_by_label(re.compile("^生年月日"))
    await birthdate.fill("昭和十年")  # not a date: named at its field, nothing filed
    await page.get_by_role("button", name="窓口申請として受け付ける").click()
    await expect(page.get_by_role("alert")).to_contain_text("生年月日")
    await expect(birthdate).to_have_attribute("aria-invalid", "true")
    await expect(at_desk.get_by_label(re.compile("^氏名"))).to_have_value("塩川 ハル")

    await birthdate.fill("1935-04-01")
    await page.get_by_role("button", name="窓口申請として受け付ける").click()
    await expect(page.get_by_role("status")).to_contain_text("窓口での申請を受け付けました")
    await expect(page.get_by_role("main")).to_contain_text("塩川 ハル")
    reference = re.search(r"/staff/applications/([^/?]+)", page.url)
    assert reference is not None, page.url
    await screenshot(page, "staff-counter-filed")

    await page.goto(browser_stack.url("kitakata", "/staff?channel=counter"))
    row = page.get_by_role("row").filter(has_text=reference.group(1)[:8])
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("窓口")
    await expect(row).to_contain_text("塩川 ハル")
