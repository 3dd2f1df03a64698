"""Issue 6's scenario in a real browser, as the people in it would do it.

A card-verified resident of 喜多方市 signs in, finds 住民票 by a Japanese search, submits the
prefilled form without typing, and sees the signed receipt; a caseworker of 喜多方市 moves the
application on in the staff console; a caseworker of 会津若松市 cannot see it; the resident finds
the status change in the inbox; the regional council's dashboard counts the filing for 喜多方市.
"""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Page, expect

from tests.browser import axe
from tests.browser.conftest import BrowserStack, DESKTOP, NewContext, reload_until, screenshot, send, sign_in

PROCEDURE = "住民票の写しの交付請求"
TOWN = "喜多方市"


async def _dd(page: Page, term: str) -> str:
    """The value shown beside a term in a definition list (受付番号 → the reference)."""
    return (await page.locator(f"dt:text-is('{term}') + dd").inner_text()).strip()


async def _council_filings(page: Page, stack: BrowserStack) -> str:
    """喜多方市's 申請件数 as the council's dashboard shows it (a number, or 秘匿 under 5)."""
    await page.goto(stack.url("council", "/"))
    table = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="申請件数"))
    column = (await table.get_by_role("columnheader").all_inner_texts()).index("申請件数")
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=TOWN, exact=True))
    await expect(row).to_have_count(1)
    return (await row.get_by_role("cell").all_inner_texts())[column - 1].strip()


async def _at_least_five_filings(stack: BrowserStack) -> None:
    """Counts under 5 are withheld on the dashboard: file enough through the API that one more shows."""
    for _ in range(5):
        reply = await stack.api.post(
            "/api/v1/applications", json={"code": "juminhyo-copy"},
            headers={**stack.api.as_user("kitakata.resident"), "idempotency-key": str(uuid.uuid4())},
        )
        assert reply.status_code == 201, reply.text


async def _counted(page: Page, stack: BrowserStack, wanted: int) -> None:
    """The dashboard reads what the insights service took from the event stream: wait for it."""
    for _ in range(60):
        shown = await _council_filings(page, stack)
        if shown.isdigit() and int(shown) >= wanted:
            break
        await page.wait_for_timeout(250)
    assert shown == str(wanted), f"喜多方市's filings on the dashboard: {shown!r}, expected {wanted}"


async def _resident_files(page: Page, stack: BrowserStack, axe_source: str) -> str:
    await sign_in(page, stack, "kitakata.resident", next_path="/")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(TOWN)
    await axe.check(page, axe_source, "home (signed in)")
    await screenshot(page, "home")

    search = page.get_by_role("search")
    await search.get_by_label("手続きをさがす").fill("住民票")
    await search.get_by_role("button", name="さがす").click()
    await expect(page).to_have_url(re.compile(r"/procedures\?q="))
    await expect(page.get_by_role("heading", name=re.compile("「住民票」の検索結果"))).to_be_visible()
    await page.get_by_role("link", name=PROCEDURE).click()

    await expect(page.get_by_role("heading", level=1, name=PROCEDURE)).to_be_visible()
    # Once only: what the card says is shown as confirmed, not asked again.
    await expect(page.get_by_role("heading", name="マイナンバーカードで確認済みの情報")).to_be_visible()
    assert (await _dd(page, "氏名")) != ""
    assert (await _dd(page, "住所")) != ""
    await axe.check(page, axe_source, "procedure form")
    await screenshot(page, "procedure")
    await page.get_by_role("radio", name="2通").check()
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()

    # Check your answers: every answer with a way to change it, and the total (300 円 × 2).
    await expect(page.get_by_role("heading", level=1, name="入力内容の確認")).to_be_visible()
    await expect(page.locator("#fee-total")).to_have_text("合計 600 円")
    await axe.check(page, axe_source, "check your answers")
    await screenshot(page, "check-answers")
    await page.get_by_role("button", name=re.compile(r"^変更する\s*：通数$")).click()
    await expect(page.get_by_role("radio", name="2通")).to_be_checked()  # the answer kept
    await page.get_by_role("radio", name="3通").check()
    await page.get_by_role("button", name="次へ（入力内容の確認）").click()
    await expect(page.locator("#fee-total")).to_have_text("合計 900 円")
    await send(page)

    await expect(page.get_by_role("heading", name="申請を受け付けました")).to_be_visible()
    reference = await _dd(page, "受付番号")
    assert re.fullmatch(r"KTK-\d{4}-\d{6}-\d", reference), reference  # 受付番号 people can read out
    await expect(page.get_by_role("heading", name="電子受付証")).to_be_visible()
    # The receipt on the page is the town's signature itself: anyone can have it checked.
    # (as a QR code; its text folded away for those who copy it)
    token = re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", await page.get_by_role("main").locator("p.receipt").text_content() or "")
    assert token is not None, "no signed receipt on the page"
    checked = await stack.api.post("/api/v1/verify", json={"token": token.group(0)})
    assert checked.status_code == 200 and checked.json()["valid"] is True, checked.text
    assert checked.json()["tenant"] == "kitakata"
    await axe.check(page, axe_source, "application received")
    await screenshot(page, "receipt")
    return reference


def _application_id(page: Page) -> str:
    found = re.search(r"/applications/([0-9a-f-]{36})", page.url)
    assert found is not None, page.url
    return found.group(1)


async def _caseworker_moves_it_on(page: Page, stack: BrowserStack, reference: str) -> None:
    await sign_in(page, stack, "kitakata.caseworker", next_path="/staff")
    # The queue, narrowed by its filters to what was just filed online.
    await page.get_by_label("状況").select_option(label="受付済み")
    await page.get_by_label("申請の方法").select_option(label="オンライン")
    await page.get_by_label("手続き", exact=True).select_option(label=PROCEDURE)
    await page.get_by_role("button", name="絞り込む").click()
    row = page.get_by_role("row").filter(has_text=reference)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("受付済み")
    await screenshot(page, "staff-queue")
    await row.get_by_role("link", name=PROCEDURE).click()

    await expect(page.get_by_role("heading", level=1, name=PROCEDURE)).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text(reference)
    await page.get_by_role("group", name=re.compile("次の状況")).get_by_role("radio", name="審査中").check()
    await page.get_by_label(re.compile("^コメント")).fill("書類を確認しています。")
    await page.get_by_role("button", name="状況を変える").click()
    await expect(page.get_by_role("status")).to_contain_text("状況を変更しました")
    await expect(page.get_by_role("listitem").filter(has_text="書類を確認しています。")).to_contain_text("審査中")
    await screenshot(page, "staff-application")


async def _other_town_cannot_see_it(page: Page, stack: BrowserStack, reference: str, application_id: str) -> None:
    """会津若松市's caseworker: not in their queue, not by its address, not through 喜多方市's host."""
    await sign_in(page, stack, "aizuwakamatsu.caseworker", host="aizuwakamatsu", next_path="/staff")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.get_by_role("main")).not_to_contain_text(reference)
    response = await page.goto(stack.url("aizuwakamatsu", f"/staff/applications/{application_id}"))
    assert response is not None and response.status == 404, response and response.status
    await expect(page.get_by_role("main")).not_to_contain_text(PROCEDURE)

    elsewhere = await page.context.new_page()
    await sign_in(elsewhere, stack, "aizuwakamatsu.caseworker", host="kitakata", next_path="/")
    for path in ("/staff", f"/staff/applications/{application_id}"):
        response = await elsewhere.goto(stack.url("kitakata", path))
        assert response is not None and response.status == 403, (path, response and response.status)
        await expect(elsewhere.get_by_role("main")).not_to_contain_text(reference)


async def _resident_sees_the_change(page: Page, stack: BrowserStack, axe_source: str, reference: str) -> None:
    message = page.get_by_role("listitem").filter(has_text=reference).filter(
        has=page.get_by_role("heading", name=re.compile("審査中"))
    )
    # The message comes from the event stream, a moment after the change: look again until it is there.
    await reload_until(page, stack.url("kitakata", "/inbox"), message)
    await expect(message).to_contain_text("未読")
    await axe.check(page, axe_source, "inbox")
    await screenshot(page, "inbox")
    await message.get_by_role("button", name=re.compile("読んだ")).click()
    await expect(message).not_to_contain_text("未読")
    await message.get_by_role("link", name="申請の状況を見る").click()
    step = page.get_by_role("listitem").filter(has_text="書類を確認しています。")
    await expect(step).to_contain_text("審査中")


async def test_a_kitakata_resident_files_online_and_follows_it(
    browser_stack: BrowserStack, new_context: NewContext, axe_source: str
) -> None:
    council = await (await new_context(viewport=DESKTOP)).new_page()
    await sign_in(council, browser_stack, "council.member", host="council")
    await _at_least_five_filings(browser_stack)
    await page_settles(council, browser_stack)
    before = int(await _council_filings(council, browser_stack))

    resident = await (await new_context()).new_page()
    reference = await _resident_files(resident, browser_stack, axe_source)
    application_id = _application_id(resident)

    caseworker = await (await new_context(viewport=DESKTOP)).new_page()  # staff work at a desk
    await _caseworker_moves_it_on(caseworker, browser_stack, reference)
    other = await (await new_context()).new_page()
    await _other_town_cannot_see_it(other, browser_stack, reference, application_id)

    await _resident_sees_the_change(resident, browser_stack, axe_source, reference)

    await _counted(council, browser_stack, before + 1)
    await expect(council.get_by_role("heading", level=1)).to_have_text("会津地域 DX 指標ダッシュボード")
    await axe.check(council, axe_source, "council dashboard")
    await screenshot(council, "council-desktop")
    phone = await (await new_context()).new_page()
    await sign_in(phone, browser_stack, "council.member", host="council")
    await screenshot(phone, "council")


async def page_settles(page: Page, stack: BrowserStack) -> None:
    """Until the dashboard's count stops moving (the API filings above are still being counted)."""
    last, steady = None, 0
    for _ in range(60):
        shown = await _council_filings(page, stack)
        steady = steady + 1 if shown == last and shown.isdigit() else 0
        if steady >= 2:
            return
        last = shown
        await page.wait_for_timeout(250)
    raise AssertionError(f"the dashboard's count for {TOWN} never settled: last {last!r}")
