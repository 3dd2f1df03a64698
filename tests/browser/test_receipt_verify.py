"""A resident of 喜多方市 files, opens the receipt (a QR code, not a block of signature), follows
「受付証を確かめる」, pastes the receipt's text and reads the answer; someone who is not signed in,
without JavaScript, does the same and is told plainly when one character was changed."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser import axe
from tests.browser.conftest import BrowserStack, NewContext, SignedIn, screenshot
from tests.browser.test_accessibility import file_application

TOWN = "喜多方市"
PROCEDURE = "住民票の写しの交付請求"


async def test_a_resident_checks_their_receipt_and_a_changed_one_is_refused(
    browser_stack: BrowserStack, signed_in: SignedIn, new_context: NewContext, axe_source: str
) -> None:
    phone = await signed_in("kitakata.resident")
    application = await file_application(phone, browser_stack)
    # Just filed: the receipt is a QR code and a link, its signature folded away.
    main = phone.get_by_role("main")
    await expect(main.get_by_role("img", name="電子受付証のQRコード")).to_be_visible()
    await expect(main.get_by_role("link", name="受付証を確かめる")).to_be_visible()
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", await main.inner_text()), "the signature is shown as the content"
    await axe.check(phone, axe_source, "application received, with the receipt's QR code")

    await phone.goto(browser_stack.url("kitakata", f"/applications/{application}/receipt"))
    await expect(phone.get_by_role("heading", level=1)).to_have_text("電子受付証")
    qr = main.get_by_role("img", name="電子受付証のQRコード")
    await expect(qr).to_be_visible()
    box = await qr.bounding_box()
    assert box is not None and 150 <= box["width"] <= 390, box  # fits a phone, large enough to scan
    signature = main.locator("p.receipt")
    await expect(signature).to_be_hidden()
    await main.get_by_text("署名の文字を表示する").click()  # the <details> people copy it from
    await expect(signature).to_be_visible()
    token = (await signature.inner_text()).strip()
    assert re.fullmatch(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", token), token[:80]
    await axe.check(phone, axe_source, "receipt")
    await screenshot(phone, "receipt-qr")

    await main.get_by_role("link", name="受付証を確かめる").click()
    await expect(phone).to_have_url(re.compile(r"/verify$"))
    await expect(phone.get_by_role("heading", level=1)).to_have_text("受付証を確かめる")
    await axe.check(phone, axe_source, "verify form")
    await phone.get_by_label("受付証の文字").fill(token)
    await phone.get_by_role("button", name="確かめる").click()
    result = phone.get_by_role("status")
    await expect(result).to_contain_text("本物の受付証です")
    await expect(result).to_contain_text(f"{TOWN}が電子署名をしたもの")
    await expect(phone.locator("dt:text-is('手続き') + dd")).to_have_text(PROCEDURE)
    await expect(phone.locator("dt:text-is('発行した市町村') + dd")).to_have_text(TOWN)
    await expect(phone.locator("dt:text-is('受付日時') + dd")).to_have_text(re.compile(r"^20\d\d年\d\d月\d\d日 \d\d:\d\d$"))
    await axe.check(phone, axe_source, "verify result")
    await screenshot(phone, "verify-genuine")

    # Anyone, not signed in, with JavaScript off: the form posts, and a changed character is named.
    anyone = await (await new_context(javascript=False)).new_page()
    await anyone.goto(browser_stack.url("kitakata", "/verify"))
    middle = len(token) // 2
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    await anyone.get_by_label("受付証の文字").fill(forged)
    await anyone.get_by_role("button", name="確かめる").click()
    await expect(anyone.get_by_role("alert")).to_contain_text("本物の受付証だと確かめられませんでした")
    await expect(anyone.get_by_role("status")).to_have_count(0)
    await expect(anyone.get_by_label("受付証の文字")).to_have_attribute("aria-invalid", "true")
    await screenshot(anyone, "verify-refused")
    # axe needs JavaScript (evaluate never returns in a page without it): the refusal is checked
    # where the resident is, in the same words.
    await phone.get_by_label("受付証の文字").fill(forged)
    await phone.get_by_role("button", name="確かめる").click()
    await expect(phone.get_by_role("alert")).to_contain_text("本物の受付証だと確かめられませんでした")
    await axe.check(phone, axe_source, "verify refused")
    # What the QR code opens: the town's check page carrying the receipt, answered at once.
    opened = await anyone.goto(browser_stack.url("kitakata", f"/verify?r={token}"))
    assert opened is not None and opened.status == 200
    await expect(anyone.get_by_role("status")).to_contain_text("本物の受付証です")
