"""The regional FAQ in a browser without JavaScript: everyday Japanese finds the answer, the town's
own answer replaces the shared one, and a question with no good answer reaches the town's staff."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import BrowserStack, NewContext, SignedIn


async def ask(page: Page, stack: BrowserStack, town: str, question: str) -> None:
    await page.goto(stack.url(town, "/faq"))
    search = page.get_by_role("search")
    await search.get_by_label("質問").fill(question)
    await search.get_by_role("button", name="さがす").click()
    await expect(page.get_by_role("heading", name=f"「{question}」へのお答え")).to_be_visible()


async def test_the_towns_own_answer_replaces_the_shared_one(browser_stack: BrowserStack, new_context: NewContext) -> None:
    page = await (await new_context(javascript=False)).new_page()
    await ask(page, browser_stack, "kitakata", "ごみの収集日はいつですか")
    first = page.get_by_role("group").first  # <details>: the best answer, opened
    await expect(first).to_contain_text("喜多方・塩川・山都・熱塩加納・高郷")
    await expect(first).to_contain_text("この町の情報")

    await ask(page, browser_stack, "aizuwakamatsu", "ごみの収集日はいつですか")
    await expect(page.get_by_role("main")).not_to_contain_text("喜多方・塩川")
    await expect(page.get_by_role("group").first).to_contain_text("ごみ")


async def test_a_question_without_a_good_answer_reaches_the_towns_staff(
    browser_stack: BrowserStack, new_context: NewContext, signed_in: SignedIn
) -> None:
    question = "熱気球の離着陸の届け出はどこですか"
    page = await (await new_context(javascript=False)).new_page()
    await ask(page, browser_stack, "kitakata", question)
    await expect(page.get_by_role("main")).to_contain_text("ぴったりのお答えが見つかりませんでした")

    staff = await signed_in("kitakata.caseworker", javascript=False)
    await staff.goto(browser_stack.url("kitakata", "/staff/faq"))
    await expect(staff.get_by_role("main")).to_contain_text(question)
    other = await signed_in("aizuwakamatsu.caseworker", host="aizuwakamatsu", javascript=False)
    await other.goto(browser_stack.url("aizuwakamatsu", "/staff/faq"))
    await expect(other.get_by_role("heading", level=1)).to_be_visible()
    await expect(other.get_by_role("main")).not_to_contain_text(re.compile("熱気球"))
