"""A resident of 喜多方市 withdraws an undecided application from their phone, after one question."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import BrowserStack, SignedIn, screenshot, send


async def test_a_resident_withdraws_an_application_once_asked(browser_stack: BrowserStack, signed_in: SignedIn) -> None:
    phone = await signed_in("kitakata.resident")
    await phone.goto(browser_stack.url("kitakata", "/procedures/juminhyo-copy"))
    await phone.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(phone)
    await expect(phone.get_by_role("status")).to_contain_text("受け付けました")
    application = re.search(r"/applications/([0-9a-f-]{36})", phone.url)
    assert application is not None, phone.url

    await phone.get_by_role("link", name="この申請を取り下げる").click()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("申請を取り下げますか")
    await phone.get_by_label("取り下げの理由（任意）").fill("別の窓口で\x00手続きしました")  # a control character
    await phone.get_by_role("button", name="取り下げる").click()
    await expect(phone.get_by_role("alert")).to_contain_text("制御文字は使えません")
    await phone.get_by_label("取り下げの理由（任意）").fill("別の窓口で手続きしました")
    await screenshot(phone, "resident-withdraw")
    await phone.get_by_role("button", name="取り下げる").click()

    await expect(phone.get_by_role("status")).to_contain_text("申請を取り下げました")
    await expect(phone.get_by_role("main")).to_contain_text("取り下げ")
    await expect(phone.get_by_role("main")).to_contain_text("別の窓口で手続きしました")
    await expect(phone.get_by_role("link", name="この申請を取り下げる")).to_have_count(0)
    # Asked again (a second tab, the back button): nothing to withdraw, back to the application.
    await phone.goto(browser_stack.url("kitakata", f"/applications/{application.group(1)}/withdraw"))
    await expect(phone.get_by_role("heading", level=1)).not_to_have_text("申請を取り下げますか")
