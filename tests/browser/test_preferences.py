"""A resident chooses email in the notification settings, without JavaScript, and the town's mail
about the next application arrives at the town's SMTP relay (a real SMTP server on loopback)."""

from __future__ import annotations

import asyncio
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from playwright.async_api import expect

from tests.browser.conftest import BrowserStack, SignedIn, send

ADDRESS = "aida.susumu@example.jp"


async def _mail_to(stack: BrowserStack, address: str, about: str, seconds: float = 15) -> EmailMessage:
    for _ in range(int(seconds / 0.2)):
        for path in stack.mail.messages():
            mail = message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(mail["To"]) and about in str(mail["Subject"]):
                return mail  # type: ignore[return-value]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no mail to {address} about {about!r} in {stack.mail.directory}")


async def test_a_wrong_address_is_told_in_plain_words_at_the_field(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    page = await signed_in("kitakata.resident", javascript=False)
    await page.goto(browser_stack.url("kitakata", "/preferences"))
    await page.get_by_role("checkbox", name="メール").check()
    address = page.get_by_label("メールアドレス")
    await address.fill("not an address")
    await page.get_by_role("button", name="保存する").click()
    await expect(page.get_by_role("alert").get_by_role("link")).to_have_attribute("href", "#email")
    await expect(address).to_have_attribute("aria-invalid", "true")
    # Read out with the field, and in words a resident knows (not a validator's regular expression).
    await expect(address).to_have_accessible_description(re.compile("メールアドレス"))
    await expect(address).not_to_have_accessible_description(re.compile("regex|Expected|\\^"))


async def test_email_chosen_in_the_settings_brings_the_next_message(
    browser_stack: BrowserStack, signed_in: SignedIn
) -> None:
    page = await signed_in("kitakata.resident", javascript=False)
    await page.goto(browser_stack.url("kitakata", "/preferences"))
    await page.get_by_role("checkbox", name="メール").check()
    await page.get_by_label("メールアドレス").fill(ADDRESS)
    await page.get_by_role("button", name="保存する").click()
    await expect(page.get_by_role("status")).to_have_text("保存しました。")
    await page.goto(browser_stack.url("kitakata", "/preferences"))
    await expect(page.get_by_role("checkbox", name="メール")).to_be_checked()
    await expect(page.get_by_label("メールアドレス")).to_have_value(ADDRESS)

    await page.goto(browser_stack.url("kitakata", "/procedures/inkan-certificate"))
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()
    await send(page)
    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()

    mail = await _mail_to(browser_stack, ADDRESS, "印鑑")
    assert "喜多方市" in mail.get_content() or "喜多方市" in str(mail["From"]) + str(mail["Subject"])
