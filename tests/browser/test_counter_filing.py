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
    shown = await page.locator("dl.facts dd").first.inner_text()
    reference = re.fullmatch(r"KTK-\d{4}-\d{6}-\d", shown.strip())
    assert reference is not None, shown  # 受付番号 people can read, not the internal id
    await screenshot(page, "staff-counter-filed")

    await page.goto(browser_stack.url("kitakata", "/staff?channel=counter"))
    row = page.get_by_role("row").filter(has_text=reference.group(0))
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("窓口")
    await expect(row).to_contain_text("塩川 ハル")
    # Found again by the number as a resident reads it out on the phone.
    await page.get_by_label(re.compile("^受付番号")).fill(reference.group(0).lower())
    await page.get_by_role("button", name="絞り込む").click()
    await expect(page.get_by_role("row").filter(has_text=reference.group(0))).to_have_count(1)
    # Misheard by one digit: the check digit says so at the field, and nothing wrong is shown.
    wrong = reference.group(0)[:-1] + str((int(reference.group(0)[-1]) + 1) % 10)
    await page.get_by_label(re.compile("^受付番号")).fill(wrong)
    await page.get_by_role("button", name="絞り込む").click()
    await expect(page.get_by_role("alert")).to_contain_text("確認数字が合いません")


async def test_a_filing_at_the_counter_reaches_the_residents_phone_by_their_code(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    phone = await signed_in("kitakata.resident")
    await phone.goto(browser_stack.url("kitakata", "/applications"))
    await phone.get_by_role("link", name="窓口で申請するときの番号を表示する").click()
    await phone.get_by_role("button", name="番号を表示する").click()
    shown = phone.get_by_role("status")
    await expect(shown).to_contain_text("まで有効です")
    code = (await phone.locator("#counter-code").inner_text()).strip()
    assert re.fullmatch(r"\d{4}-\d{4}", code), code
    await screenshot(phone, "resident-counter-code")

    desk = await signed_in("kitakata.caseworker", viewport=DESKTOP)
    await desk.goto(browser_stack.url("kitakata", "/staff/counter/juminhyo-copy"))
    at_desk = desk.get_by_role("group", name=re.compile("窓口に来た方"))
    await at_desk.get_by_label(re.compile("^氏名")).fill("会津 花子")
    await at_desk.get_by_label(re.compile("^住所")).fill("福島県喜多方市字御清水東7244-2")
    await at_desk.get_by_label(re.compile("^生年月日")).fill("1950-05-05")
    link = desk.get_by_label(re.compile("^窓口用番号"))
    wrong = "0000-0001" if code != "0000-0001" else "0000-0002"
    await link.fill(wrong)  # misread: named at its field, nothing filed
    await desk.get_by_role("button", name="窓口申請として受け付ける").click()
    await expect(desk.get_by_role("alert")).to_contain_text("この番号は見つからない")
    await expect(link).to_have_attribute("aria-invalid", "true")
    await link.fill(code)
    await desk.get_by_role("button", name="窓口申請として受け付ける").click()
    await expect(desk.get_by_role("status")).to_contain_text("窓口での申請を受け付けました")
    filed = re.search(r"/staff/applications/([^/?]+)", desk.url)
    assert filed is not None, desk.url

    await phone.goto(browser_stack.url("kitakata", "/applications"))
    await expect(phone.locator(f'a[href="/applications/{filed.group(1)}"]')).to_have_count(1)
