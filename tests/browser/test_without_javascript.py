"""The portal with JavaScript turned off: pages render, and the search and application forms post.

Many residents use old phones or have script blocked; the towns promise that nobody is left
behind, so every page is plain HTML forms first.
"""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import Page, expect

from tests.browser.conftest import BrowserStack, NewContext, SignedIn, send, sign_in
from tests.browser.test_accessibility import ADMIN, COUNCIL, PUBLIC, RESIDENT, STAFF, file_application


async def _rendered(page: Page, url: str) -> bool:
    response = await page.goto(url)
    return response is not None and response.status == 200 and await page.get_by_role("heading", level=1).count() == 1


async def test_pages_render_without_javascript(
    browser_stack: BrowserStack, new_context: NewContext, signed_in: SignedIn
) -> None:
    page = await (await new_context(javascript=False)).new_page()
    assert await page.evaluate("() => 1") == 1  # the test's own probe still runs; the page's scripts do not
    resident = await signed_in("kitakata.resident", javascript=False)
    application = await file_application(resident, browser_stack)
    staff = await signed_in("kitakata.caseworker", javascript=False)
    admin = await signed_in("kitakata.admin", javascript=False)
    council = await signed_in("council.member", host="council", javascript=False)
    visits = (
        (page, "kitakata", PUBLIC), (resident, "kitakata", RESIDENT), (staff, "kitakata", STAFF),
        (admin, "kitakata", ADMIN), (council, "council", COUNCIL),
    )

    async def pages_of(who: Page, host: str, paths: list[str]) -> list[str]:
        return [f"{host} {p}" for p in paths if not await _rendered(who, browser_stack.url(host, p.format(id=application)))]

    # One tab per person, side by side, as in the accessibility audit.
    missing = [m for found in await asyncio.gather(*(pages_of(*v) for v in visits)) for m in found]
    assert not missing, "pages that did not render without JavaScript:\n" + "\n".join(missing)


async def test_search_and_apply_post_without_javascript(browser_stack: BrowserStack, new_context: NewContext) -> None:
    page = await (await new_context(javascript=False)).new_page()
    await page.goto(browser_stack.url("kitakata", "/"))
    search = page.get_by_role("search")
    await search.get_by_label("手続きをさがす").fill("住民票")
    await search.get_by_role("button", name="さがす").click()
    await expect(page.get_by_role("link", name="住民票の写しの交付請求")).to_be_visible()

    await sign_in(page, browser_stack, "kitakata.resident", next_path="/procedures/juminhyo-copy")
    await expect(page.get_by_role("heading", level=1, name="住民票の写しの交付請求")).to_be_visible()
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(page)
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()
    await expect(page.get_by_role("main").get_by_role("img", name="電子受付証のQRコード")).to_be_visible()
    await expect(page.get_by_role("main").locator("p.receipt")).to_contain_text(re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+"))


async def test_a_wrong_answer_is_named_at_its_field_without_javascript(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    # An account with no earlier filing here: nothing prefills the phone from history.
    page = await signed_in("kitakata.resident-basic", javascript=False)
    await page.goto(browser_stack.url("kitakata", "/procedures/oversized-garbage"))
    await page.get_by_role("radio", name=re.compile("家具")).check()
    count = page.get_by_label(re.compile("^点数"))
    await count.fill("99")
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()

    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("入力に誤りがあります")
    # Each problem links to its field: the count out of range, and the phone number left empty.
    await expect(summary.get_by_role("link", name=re.compile("点数"))).to_have_attribute("href", "#field-item_count")
    await expect(summary.get_by_role("link", name=re.compile("連絡先電話番号"))).to_have_attribute("href", "#field-phone")
    await expect(count).to_have_attribute("aria-invalid", "true")
    # The message is the field's own description, so a screen reader reads it with the field.
    await expect(count).to_have_accessible_description(re.compile("1 以上 10 以下"))
    # What the resident had chosen is kept, and nothing was filed.
    await expect(page.get_by_role("radio", name=re.compile("家具"))).to_be_checked()
    await page.goto(browser_stack.url("kitakata", "/applications"))
    await expect(page.get_by_role("main")).not_to_contain_text("粗大ごみ収集申込")

    await page.goto(browser_stack.url("kitakata", "/procedures/oversized-garbage"))
    await page.get_by_role("radio", name=re.compile("家具")).check()
    await page.get_by_label(re.compile("^点数")).fill("2")
    await page.get_by_label(re.compile("^連絡先電話番号")).fill("0241-22-1111")
    await page.get_by_label(re.compile("^収集場所の住所")).fill("福島県喜多方市字寺町4780")  # not carried by this sign-in
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(page)
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()


async def test_a_password_level_resident_types_the_address_the_card_would_have_given(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    """Without a My Number Card sign-in nothing prefills the collection address: the form asks
    for it, and what the resident types is taken (the card's fields are locked only when known)."""
    page = await signed_in("kitakata.resident-basic", javascript=False)
    await page.goto(browser_stack.url("kitakata", "/procedures/oversized-garbage"))
    address = page.get_by_label(re.compile("^収集場所の住所"))
    await expect(address).to_have_value("")
    await address.fill("喜多方市字御清水東7244番地2")
    await page.get_by_role("radio", name=re.compile("自転車")).check()
    await page.get_by_label(re.compile("^点数")).fill("1")
    await page.get_by_label(re.compile("^連絡先電話番号")).fill("0241-22-1111")
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(page)
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()


async def test_display_settings_post_without_javascript(browser_stack: BrowserStack, new_context: NewContext) -> None:
    page = await (await new_context(javascript=False)).new_page()
    await page.goto(browser_stack.url("kitakata", "/settings"))
    await page.get_by_role("radio", name="大きい").check()
    await page.get_by_role("radio", name="English").check()
    await page.get_by_role("button", name="保存する").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("status")).to_contain_text("Saved.")
    await page.goto(browser_stack.url("kitakata", "/"))
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    size = await page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert size == "22px", size  # 137.5% of 16px: the large-text setting carried over
    # The switch back is one link away, in the other language's own words.
    await page.get_by_role("link", name="このページを日本語で読む").click()
    await expect(page.locator("html")).to_have_attribute("lang", "ja")
