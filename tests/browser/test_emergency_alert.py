"""Emergency alerts of 湯川村 (a town no other browser test uses: its banner shows on every page), written and approved by two of its administrators in the staff console,
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
    admin = await signed_in("yugawa.admin", host="yugawa", viewport=DESKTOP)
    await admin.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
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
    await anyone.goto(browser_stack.url("yugawa", "/"))
    await expect(banner(anyone)).to_have_count(0)

    second = await signed_in("yugawa.admin2", host="yugawa", viewport=DESKTOP)
    await second.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    pending = second.get_by_role("listitem").filter(has=second.get_by_role("heading", name=TITLE))
    await pending.get_by_role("button", name="内容を確かめて承認する").click()
    await expect(second.get_by_role("status")).to_contain_text("承認しました")

    await reload_until(anyone, browser_stack.url("yugawa", "/"), banner(anyone))
    await expect(banner(anyone)).to_contain_text(BODY)
    await axe.check(anyone, axe_source, "home with an emergency alert")
    await screenshot(anyone, "home-emergency")
    # In English too, and never on another town's home page.
    await anyone.goto(browser_stack.url("yugawa", "/?lang=en"))
    await expect(anyone.get_by_role("alert")).to_contain_text("Evacuation order")
    await anyone.goto(browser_stack.url("aizuwakamatsu", "/"))
    await expect(banner(anyone)).to_have_count(0)


async def _write_alert(admin: Page, stack: BrowserStack, title: str, body: str, *, districts: list[str] | None = None) -> None:
    await admin.goto(stack.url("yugawa", "/staff/broadcasts"))
    await admin.get_by_role("radio", name="緊急情報").check()
    if districts:
        await admin.get_by_role("radio", name="選んだ地区の住民").check()
        for district in districts:
            await admin.get_by_role("checkbox", name=district).check()
    else:
        await admin.get_by_role("radio", name="町の住民全員").check()
    await admin.get_by_label(re.compile("^件名（日本語）")).fill(title)
    await admin.get_by_label(re.compile("^本文（日本語）")).fill(body)
    await admin.get_by_role("button", name="配信する").click()
    await expect(admin.get_by_role("status")).to_contain_text("承認")


def _card(page: Page, title: str) -> Locator:
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=title, exact=True))


def _banner(page: Page, title: str) -> Locator:
    return page.get_by_role("alert").filter(has=page.get_by_role("heading", name=re.compile(re.escape(title))))


async def test_a_japanese_only_alert_prompts_the_approver_and_shows_on_every_page(
    browser_stack: BrowserStack, new_context: NewContext, signed_in: SignedIn, axe_source: str
) -> None:
    title, body = "【訓練】土砂災害警戒情報", "これは訓練です。山沿いの方は早めに避難してください。"
    admin = await signed_in("yugawa.admin", host="yugawa", viewport=DESKTOP)
    await _write_alert(admin, browser_stack, title, body)  # no English: it must not wait for a translation
    # The second admin is prompted on every console page, and by mail at the town office's address.
    second = await signed_in("yugawa.admin2", host="yugawa", viewport=DESKTOP)
    await second.goto(browser_stack.url("yugawa", "/staff"))
    prompt = second.locator("#awaiting-approval")
    await expect(prompt).to_contain_text("承認を待っている配信が")
    office = browser_stack.region.town("yugawa").contact.email  # type: ignore[union-attr]
    assert any(office in p.read_text(errors="replace") for p in browser_stack.mail.messages()) or await _mailed(
        browser_stack, office, "承認依頼")
    await prompt.get_by_role("link", name="確かめて承認する").click()
    card = _card(second, title)
    await expect(card).to_contain_text("対象")
    await expect(card).not_to_contain_text("対象の住民が0人です")
    await card.get_by_role("button", name="内容を確かめて承認する").click()
    # The alert's own page follows it town by town, refreshing itself while it is sent.
    await expect(second.get_by_role("heading", name="市町村ごとの状況")).to_be_visible()
    await reload_until(second, second.url, second.get_by_text("配信済み", exact=True))
    await axe.check(second, axe_source, "an alert's progress page")
    await screenshot(second, "staff-alert-progress")

    anyone = await (await new_context()).new_page()
    for path in ("/", "/procedures", "/faq", "/report"):
        await anyone.goto(browser_stack.url("yugawa", path))
        await expect(_banner(anyone, title)).to_contain_text(body)
    await screenshot(anyone, "alert-on-every-page")
    # In English the Japanese is shown (marked as Japanese), not nothing.
    await anyone.goto(browser_stack.url("yugawa", "/procedures?lang=en"))
    english = _banner(anyone, title)
    await expect(english).to_have_attribute("lang", "ja")
    await axe.check(anyone, axe_source, "catalog with a Japanese-only alert, in English")
    # The demo resident is in the town's directory: the alert is in their messages.
    resident = await signed_in("yugawa.resident", host="yugawa")
    await reload_until(resident, browser_stack.url("yugawa", "/inbox"), resident.get_by_role("listitem").filter(has_text=title))


async def _mailed(stack: BrowserStack, address: str, word: str, seconds: float = 10) -> bool:
    import asyncio
    import email
    import email.policy

    for _ in range(int(seconds * 10)):
        for p in stack.mail.messages():
            m = email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            if m["To"] == address and word in str(m["Subject"]):
                return True
        await asyncio.sleep(0.1)
    return False


async def test_an_alert_nobody_would_receive_is_refused_until_a_reason_is_given(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    title = "【訓練】笈川地区の断水"
    admin = await signed_in("yugawa.admin", host="yugawa", viewport=DESKTOP)
    await _write_alert(admin, browser_stack, title, "笈川地区で断水しています。", districts=["笈川"])
    second = await signed_in("yugawa.admin2", host="yugawa", viewport=DESKTOP)
    await second.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    card = _card(second, title)
    await expect(card).to_contain_text("対象の住民が0人です")
    reason = card.get_by_label(re.compile("^0人でも送る理由"))
    await expect(reason).to_have_attribute("required", "")
    # Sent without a reason anyway (the browser's own check bypassed): the service refuses it.
    await reason.evaluate("el => el.removeAttribute('required')")
    await card.get_by_role("button", name="内容を確かめて承認する").click()
    await expect(second.get_by_role("alert").filter(has_text="承認できませんでした")).to_contain_text("理由を書いてください")
    await expect(_card(second, title)).to_contain_text("承認待ち")
    card = _card(second, title)
    await card.get_by_label(re.compile("^0人でも送る理由")).fill("地区の住民の取り込み前に、防災担当の確認のため")
    await card.get_by_role("button", name="内容を確かめて承認する").click()
    await expect(second.get_by_role("status").first).to_contain_text("承認しました")


async def test_an_alert_is_corrected_then_cancelled_by_four_eyes(
    browser_stack: BrowserStack, new_context: NewContext, signed_in: SignedIn
) -> None:
    title = "【訓練】濁川の増水"
    admin = await signed_in("yugawa.admin", host="yugawa", viewport=DESKTOP)
    second = await signed_in("yugawa.admin2", host="yugawa", viewport=DESKTOP)
    await _write_alert(admin, browser_stack, title, "濁川が増水しています。近づかないでください。")
    await second.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    await _card(second, title).get_by_role("button", name="内容を確かめて承認する").click()
    anyone = await (await new_context()).new_page()
    await reload_until(anyone, browser_stack.url("yugawa", "/"), _banner(anyone, title))

    # A correction: the form starts from the alert, marked 【訂正】; it replaces it once approved.
    await admin.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    await _card(admin, title).get_by_role("link", name="訂正する").click()
    await expect(admin.get_by_text("を訂正します")).to_be_visible()
    corrected = f"【訂正】{title}"
    await expect(admin.get_by_label(re.compile("^件名（日本語）"))).to_have_value(corrected)
    await admin.get_by_label(re.compile("^本文（日本語）")).fill("濁川と田付川が増水しています。近づかないでください。")
    await admin.get_by_role("button", name="配信する").click()
    await expect(_banner(anyone, title)).to_have_count(1)  # the first stays in force until approved
    await second.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    await _card(second, corrected).get_by_role("button", name="内容を確かめて承認する").click()
    await anyone.goto(browser_stack.url("yugawa", "/"))
    await expect(_banner(anyone, corrected)).to_contain_text("田付川")
    await expect(anyone.get_by_role("alert").filter(has=anyone.get_by_role("heading", name=re.compile(f"：{re.escape(title)}$")))).to_have_count(0)

    # A cancellation, approved by the other admin: no banner is left on any page.
    await admin.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    await _card(admin, corrected).get_by_role("link", name="取り消す").click()
    await expect(admin.get_by_label(re.compile("^件名（日本語）"))).to_have_value(f"【取消】{corrected}")
    await admin.get_by_role("button", name="配信する").click()
    await second.goto(browser_stack.url("yugawa", "/staff/broadcasts"))
    await _card(second, f"【取消】{corrected}").get_by_role("button", name="内容を確かめて承認する").click()
    for path in ("/", "/procedures"):
        await anyone.goto(browser_stack.url("yugawa", path))
        await expect(_banner(anyone, title)).to_have_count(0)
    resident = await signed_in("yugawa.resident", host="yugawa")
    await reload_until(resident, browser_stack.url("yugawa", "/inbox"),
                       resident.get_by_role("listitem").filter(has_text=f"【取消】{corrected}"))
