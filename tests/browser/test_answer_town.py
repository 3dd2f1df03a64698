"""A caseworker of 喜多方市 asks for more; the resident answers from their phone with a photo of
the certificate, and the application is back in review. Also without JavaScript."""

from __future__ import annotations

import base64
import re
import uuid

from playwright.async_api import expect

from tests.browser import axe
from tests.browser.conftest import BrowserStack, SignedIn, screenshot

RESIDENT = "kitakata.resident"
CASEWORKER = "kitakata.caseworker"
QUESTION = "添付の注射済証が読み取れません。もう一度、明るいところで撮影して添付してください。"
#: The smallest PNG a browser would send: its signature is what the service checks.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
DOG = {"owner_postal_code": "966-0000", "phone": "0241-22-1111", "dog_name": "ポチ", "breed": "柴犬",
       "coat_colour": "赤", "dog_sex": "male", "vaccination_date": "2026-04-10"}


async def asked(stack: BrowserStack, code: str = "dog-registration", answers: dict | None = None) -> str:
    """Filed by the resident through the API, then asked about by the caseworker; the id."""
    api = stack.api
    filed = await api.post("/api/v1/applications", json={"code": code, "answers": answers or {}},
                           headers={**api.as_user(RESIDENT), "idempotency-key": str(uuid.uuid4())})
    assert filed.status_code == 201, filed.text
    app_id: str = filed.json()["application"]["id"]
    for to, comment in (("in_review", ""), ("needs_info", QUESTION)):
        moved = await api.post(f"/api/v1/applications/{app_id}/transitions", json={"to": to, "comment": comment},
                               headers=api.as_user(CASEWORKER))
        assert moved.status_code == 200, moved.text
    return app_id


async def test_a_resident_answers_the_towns_question_with_a_photo(
    browser_stack: BrowserStack, signed_in: SignedIn, axe_source: str
) -> None:
    blurred = {"filename": "ぼやけた写真.png", "media_type": "image/png", "content_base64": base64.b64encode(PNG).decode()}
    app_id = await asked(browser_stack, answers={**DOG, "vaccination_certificate": blurred})
    phone = await signed_in(RESIDENT)
    await phone.goto(browser_stack.url("kitakata", f"/applications/{app_id}"))
    box = phone.get_by_role("region", name="追加の情報をお願いします")
    await expect(box).to_contain_text(QUESTION)
    await axe.check(phone, axe_source, "an application the town asked about")
    await box.get_by_role("link", name="回答する").click()

    await expect(phone.get_by_role("heading", level=1)).to_have_text("担当者からの質問に回答する")
    await expect(phone.get_by_role("main")).to_contain_text(QUESTION)
    await expect(phone.get_by_role("main")).to_contain_text("提出済み：ぼやけた写真.png")
    await axe.check(phone, axe_source, "the answer form")
    sharper = PNG + b"\x01" * 64
    await phone.get_by_label(re.compile("^狂犬病予防注射済証")).set_input_files(
        {"name": "明るい写真.png", "mimeType": "image/png", "buffer": sharper})
    # Sent without a message: named, and the photo is kept for the next try.
    await phone.get_by_role("button", name="回答を送る").click()
    await expect(phone.get_by_role("alert")).to_contain_text("回答を書いてください。")
    await expect(phone.get_by_role("main")).to_contain_text("添付済み：明るい写真.png")
    await axe.check(phone, axe_source, "the answer form with an error")
    await phone.get_by_role("textbox", name=re.compile("^回答")).fill("明るいところで撮り直しました。\nよろしくお願いします。")
    await screenshot(phone, "resident-answer-town")
    await phone.get_by_role("button", name="回答を送る").click()

    await expect(phone.get_by_role("status")).to_contain_text("回答を送りました")
    main = phone.get_by_role("main")
    await expect(main).to_contain_text("審査中")
    await expect(main).to_contain_text("明るいところで撮り直しました。")
    await expect(main.get_by_role("link", name="明るい写真.png")).to_be_visible()
    await expect(phone.get_by_role("region", name="追加の情報をお願いします")).to_have_count(0)
    filed = (await browser_stack.api.get(f"/api/v1/applications/{app_id}", headers=browser_stack.api.as_user(CASEWORKER))).json()
    assert filed["summary"]["status"] == "in_review"
    assert [(a["field"], a["filename"], a["size"]) for a in filed["attachments"]] == [
        ("vaccination_certificate", "明るい写真.png", len(sharper))]
    assert filed["history"][-1]["comment"] == "明るいところで撮り直しました。\nよろしくお願いします。"
    # Asked again (the back button): nothing to answer now, back to the application.
    await phone.goto(browser_stack.url("kitakata", f"/applications/{app_id}/answer"))
    await expect(phone.get_by_role("heading", level=1)).not_to_have_text("担当者からの質問に回答する")


async def test_the_answer_posts_without_javascript(browser_stack: BrowserStack, signed_in: SignedIn) -> None:
    app_id = await asked(browser_stack, code="juminhyo-copy")
    phone = await signed_in(RESIDENT, javascript=False)
    await phone.goto(browser_stack.url("kitakata", f"/applications/{app_id}"))
    await phone.get_by_role("link", name="回答する").click()
    await phone.get_by_role("textbox", name=re.compile("^回答")).fill("本籍地は不要です。")
    await phone.get_by_role("button", name="回答を送る").click()
    await expect(phone.get_by_role("status")).to_contain_text("回答を送りました")
    await expect(phone.get_by_role("main")).to_contain_text("本籍地は不要です。")
