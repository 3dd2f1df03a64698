"""A resident of 喜多方市 pays the fee for 住民票の写し from their phone, on the payment
provider's page (our stand-in, reached as the real one is: a redirect and a form): a declined card
and then a good one; a page left and paid later from the application's page; the caseworker sees
it paid, rejects it and the fee is refunded. And a fee paid at the counter, recorded by the
caseworker."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser import axe
from tests.browser.conftest import DESKTOP, BrowserStack, NewContext, SignedIn, reload_until, screenshot, send, sign_in

RESIDENT = "kitakata.resident"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


async def _fill_card(page: Page, number: str) -> None:
    await page.get_by_label("カード番号").fill(number)
    await page.get_by_label("有効期限（月/年）").fill("12/30")
    await page.get_by_label("セキュリティコード").fill("123")
    await page.get_by_role("button", name="支払う").click()


async def _file_to_pay_online(page: Page, stack: BrowserStack, copies: str) -> None:
    await page.goto(stack.url("kitakata", "/procedures/juminhyo-copy"))
    await page.get_by_role("radio", name=copies).check()
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(page, "online")
    await expect(page).to_have_url(re.compile(rf"^{re.escape(stack.psp.url)}/pay/cs_"))


def _application_id(page: Page) -> str:
    found = re.search(r"/applications/([0-9a-f-]{36})", page.url)
    assert found is not None, page.url
    return found.group(1)


async def _reference(page: Page) -> str:
    return (await page.locator("dt", has_text="受付番号").locator("xpath=following-sibling::dd[1]").inner_text()).strip()


async def test_a_resident_pays_online_and_a_rejected_application_is_refunded(
    browser_stack: BrowserStack, signed_in: SignedIn, new_context: NewContext, axe_source: str
) -> None:
    phone = await signed_in(RESIDENT)
    await _file_to_pay_online(phone, browser_stack, "2通")
    await expect(phone.get_by_role("main")).to_contain_text("600 円")
    # A declined card: said so on the provider's page, and nothing is paid.
    await _fill_card(phone, DECLINED_CARD)
    await expect(phone.get_by_role("alert")).to_contain_text("カードが使えませんでした")
    await _fill_card(phone, GOOD_CARD)
    await expect(phone).to_have_url(re.compile(r"^http://kitakata\.localhost:\d+/applications/[0-9a-f-]{36}\?paid=1"))
    await expect(phone.get_by_role("status")).to_contain_text("お支払いが完了しました")
    await expect(phone.locator("#payment-state")).to_have_text("支払い済み（オンライン）")
    await axe.check(phone, axe_source, "paid application")
    await screenshot(phone, "resident-paid")
    paid_id = _application_id(phone)
    reference = await _reference(phone)

    # Another one, left on the provider's page: unpaid, payable later once that page ran out.
    await _file_to_pay_online(phone, browser_stack, "1通")
    first_page = phone.url
    await phone.get_by_role("link", name="支払わずに戻る").click()
    await expect(phone.get_by_role("status")).to_contain_text("お支払いはまだ済んでいません")
    later_url = phone.url.split("?")[0]
    browser_stack.psp.expire_now(first_page.rsplit("/", 1)[-1])
    await reload_until(phone, later_url, phone.locator("#payment-state", has_text="期限切れ"))
    await phone.get_by_role("button", name="手数料 300 円を支払う").click()
    await expect(phone).to_have_url(re.compile(rf"^{re.escape(browser_stack.psp.url)}/pay/cs_"))
    assert phone.url != first_page  # a new page at the provider
    await _fill_card(phone, GOOD_CARD)
    await expect(phone.locator("#payment-state")).to_have_text("支払い済み（オンライン）")

    # The caseworker: the paid application in the queue, shown as paid; rejected, it is refunded.
    desk = await (await new_context(viewport=DESKTOP)).new_page()
    await sign_in(desk, browser_stack, "kitakata.caseworker", next_path="/staff")
    row = desk.get_by_role("row").filter(has_text=reference)
    await expect(row).to_contain_text("支払い済み")
    await row.get_by_role("link").first.click()
    await expect(desk.locator("#payment-state")).to_have_text("支払い済み（オンライン）")
    await desk.get_by_role("group", name=re.compile("次の状況")).get_by_role("radio", name="不承認").check()
    await desk.get_by_label(re.compile("^コメント")).fill("本人確認書類の住所が一致しません。")
    await desk.get_by_role("button", name="状況を変える").click()
    await expect(desk.get_by_role("status")).to_contain_text("状況を変更しました")
    await expect(desk.locator("#payment-state")).to_have_text("返金済み（オンライン）")
    refunds = [t for t in await browser_stack.psp.balance_transactions() if t["type"] == "refund"]
    assert -600 in [t["amount"] for t in refunds]
    await phone.goto(browser_stack.url("kitakata", f"/applications/{paid_id}"))
    await expect(phone.locator("#payment-state")).to_contain_text("返金済み")


async def test_a_fee_paid_at_the_counter_is_recorded_by_the_caseworker(
    browser_stack: BrowserStack, signed_in: SignedIn, new_context: NewContext, axe_source: str
) -> None:
    phone = await signed_in(RESIDENT)
    await phone.goto(browser_stack.url("kitakata", "/procedures/juminhyo-copy"))
    await phone.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(phone, "counter")
    await expect(phone.get_by_role("heading", name="申請を受け付けました")).to_be_visible()
    await expect(phone.locator("#payment-state")).to_have_text("未払い")
    application_id = _application_id(phone)

    desk = await (await new_context(viewport=DESKTOP)).new_page()
    await sign_in(desk, browser_stack, "kitakata.caseworker", next_path=f"/staff/applications/{application_id}")
    record = desk.get_by_role("button", name="窓口での支払いを記録する")
    await record.click()  # how it was paid not chosen: asked for
    await expect(desk.get_by_role("alert")).to_contain_text("受け取り方を選んでください")
    await desk.get_by_role("radio", name="現金").check()
    await axe.check(desk, axe_source, "counter payment")
    await record.click()
    await expect(desk.get_by_role("status")).to_contain_text("支払いを記録しました")
    await expect(desk.locator("#payment-state")).to_have_text("支払い済み（窓口（現金））")
    await expect(desk.get_by_role("button", name="窓口での支払いを記録する")).to_have_count(0)
    await phone.reload()
    await expect(phone.locator("#payment-state")).to_have_text("支払い済み（窓口（現金））")
