"""Keyboard only, as many elderly residents and screen-reader users work: the skip link comes
first and lands in the main content, and the focused control is visibly marked."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import BrowserStack, NewContext, SignedIn


async def test_the_first_tab_offers_the_skip_link_and_it_lands_in_main(
    browser_stack: BrowserStack, new_context: NewContext
) -> None:
    page = await (await new_context()).new_page()
    for lang, skip in (("ja", "本文へ移動"), ("en", "Skip to main content")):
        await page.goto(browser_stack.url("kitakata", f"/procedures?lang={lang}"))
        await page.keyboard.press("Tab")
        link = page.get_by_role("link", name=skip)
        await expect(link).to_be_focused()
        box = await link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["y"] >= 0, f"the focused skip link is off screen: {box}"
        outline = await link.evaluate("e => getComputedStyle(e).outlineStyle")
        assert outline != "none", "the focused link has no visible focus outline"
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("main")).to_be_focused()
        # The next Tab continues inside the main content: the search field, not the menu.
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("main").get_by_role("searchbox")).to_be_focused()


async def test_the_application_form_is_usable_by_keyboard(browser_stack: BrowserStack, signed_in: SignedIn) -> None:
    page = await signed_in("kitakata.resident")
    await page.goto(browser_stack.url("kitakata", "/procedures/juminhyo-copy"))
    submit = page.get_by_role("button", name="次へ（入力内容の確認）")
    # Tab through the page until the submit button has focus: every control on the way is reachable.
    for _ in range(80):
        await page.keyboard.press("Tab")
        if await submit.evaluate("e => e === document.activeElement"):
            break
    await expect(submit).to_be_focused()
    await page.keyboard.press("Enter")
    # Check your answers: the send button is reached by keyboard too.
    await expect(page.get_by_role("heading", level=1, name="入力内容の確認")).to_be_visible()
    send = page.get_by_role("button", name="この内容で申請する")
    online = page.get_by_role("radio", name=re.compile("^オンラインで支払う"))
    for _ in range(80):
        await page.keyboard.press("Tab")
        if await online.evaluate("e => e === document.activeElement"):
            await page.keyboard.press("ArrowDown")  # the radio group's next choice: 窓口で支払う
        if await send.evaluate("e => e === document.activeElement"):
            break
    await expect(page.get_by_role("radio", name="窓口で支払う")).to_be_checked()
    await expect(send).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()
