"""The portal's pages through the real gateway: rendering, forms, errors tied to fields, and
who may see what. Real nats-server, services and SQLite; the browser suite (tests/browser/)
drives the same pages in Chromium."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import GatewayClient
from tests.pages import confirmed, csrf_of, hidden, main_of

pytestmark = pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)

RESIDENT = "kitakata.resident"


async def test_home_is_the_towns_in_japanese_then_english(site: GatewayClient) -> None:
    ja = await site.get("/")
    assert ja.status_code == 200 and ja.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in ja.text and "喜多方市のオンライン窓口" in ja.text
    assert '<a class="skip" href="#main">本文へ移動</a>' in ja.text
    assert "#7A4A1E" in ja.text  # the town's own colour
    assert "frame-ancestors 'none'" in ja.headers["content-security-policy"]
    en = await site.get("/", params={"lang": "en"})
    assert '<html lang="en">' in en.text and "Kitakata City online services" in en.text
    # The language link is remembered for the next page.
    assert en.cookies.get("aizu_lang") == "en"
    site.cookies.update({"aizu_lang": "en"})
    again = await site.get("/procedures")
    assert '<html lang="en">' in again.text


async def test_catalog_search_understands_japanese(site: GatewayClient) -> None:
    found = await site.get("/procedures", params={"q": "住民票"})
    assert found.status_code == 200
    assert "住民票の写しの交付請求" in main_of(found.text)
    assert "印鑑登録証明書" not in main_of(found.text)
    nothing = await site.get("/procedures", params={"q": "zzzzqqqq"})
    assert "見つかりませんでした" in main_of(nothing.text)


async def test_a_card_verified_resident_applies_with_the_prefilled_form(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    form_page = await site.get("/procedures/juminhyo-copy", headers=auth)
    assert form_page.status_code == 200
    body = main_of(form_page.text)
    assert "マイナンバーカードで確認済みの情報" in body
    assert 'name="applicant_name"' not in body  # shown, not asked: it comes from the card
    form = {"_csrf_token": csrf_of(form_page.text), "idempotency_key": hidden(form_page.text, "idempotency_key"), "copies": "2"}
    site.cookies.update(form_page.cookies)
    check = await site.post("/procedures/juminhyo-copy", data=form, headers=auth)
    assert check.status_code == 200, check.text[:500]
    shown = main_of(check.text)
    assert "入力内容の確認" in shown and "2通" in shown
    assert "300 円 × 2（通数）" in shown and "合計 600 円" in shown  # two copies at 300 yen
    assert 'formaction="/procedures/juminhyo-copy#field-copies"' in shown  # each answer can be changed
    mine_before = (await site.get("/api/v1/applications", headers=auth)).json()["items"]
    form = confirmed(check.text)
    sent = await site.post("/procedures/juminhyo-copy", data=form, headers=auth)
    assert sent.status_code == 303, sent.text[:500]
    target = sent.headers["location"]
    assert re.fullmatch(r"/applications/[0-9a-f-]{36}\?received=1", target)
    received = await site.get(target, headers=auth)
    assert "申請を受け付けました" in received.text
    receipt = re.search(r'<p class="receipt">([^<]+)</p>', received.text)
    assert receipt
    verified = await site.post("/api/v1/verify", json={"token": receipt.group(1)})
    assert verified.status_code == 200 and verified.json()["valid"] is True
    # The same form posted twice (a double tap) is one application.
    site.cookies.update(form_page.cookies)
    again = await site.post("/procedures/juminhyo-copy", data=form, headers=auth)
    assert again.headers["location"] == target
    mine = await site.get("/applications", headers=auth)
    assert mine.text.count(target.split("?")[0] + '"') == 1
    filed = (await site.get("/api/v1/applications", headers=auth)).json()["items"]
    assert len(filed) == len(mine_before) + 1  # nothing was filed by the check
    assert filed[0]["fee_yen"] == 600 and "600 円" in main_of(received.text)


async def test_a_bad_answer_is_named_on_its_field_and_nothing_is_filed(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    before = (await site.get("/api/v1/applications", headers=auth)).json()["items"]
    form_page = await site.get("/procedures/juminhyo-copy", headers=auth)
    form = {"_csrf_token": csrf_of(form_page.text), "idempotency_key": hidden(form_page.text, "idempotency_key"), "copies": "9"}
    site.cookies.update(form_page.cookies)
    sent = await site.post("/procedures/juminhyo-copy", data=form, headers=auth)
    assert sent.status_code == 422
    body = main_of(sent.text)
    assert 'href="#field-copies"' in body and 'id="error-copies"' in body
    assert 'aria-describedby="hint-copies error-copies"' in body
    after = (await site.get("/api/v1/applications", headers=auth)).json()["items"]
    assert len(after) == len(before)


async def test_a_form_post_without_the_csrf_token_is_refused(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    form_page = await site.get("/procedures/juminhyo-copy", headers=auth)
    site.cookies.update(form_page.cookies)
    sent = await site.post("/procedures/juminhyo-copy", data={"copies": "1"}, headers=auth)
    assert sent.status_code == 403


async def test_signed_out_visitors_are_asked_to_sign_in(site: GatewayClient) -> None:
    for path in ("/applications", "/inbox", "/preferences"):
        page = await site.get(path)
        assert page.status_code == 401, path
        assert "/auth/login?next=" in main_of(page.text)
    procedure = await site.get("/procedures/juminhyo-copy")
    assert "/auth/login?next=%2Fprocedures%2Fjuminhyo-copy&amp;acr=jpki" in procedure.text


async def test_another_towns_staff_and_residents_cannot_open_an_application(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    form_page = await site.get("/procedures/juminhyo-copy", headers=auth)
    form = {"_csrf_token": csrf_of(form_page.text), "idempotency_key": hidden(form_page.text, "idempotency_key")}
    site.cookies.update(form_page.cookies)
    check = await site.post("/procedures/juminhyo-copy", data=form, headers=auth)
    sent = await site.post("/procedures/juminhyo-copy", data=confirmed(check.text), headers=auth)
    path = sent.headers["location"].split("?")[0]
    for other in ("aizuwakamatsu.caseworker", "aizuwakamatsu.resident"):
        page = await site.get(path, headers=site.as_user(other))
        assert page.status_code in (403, 404), other
        assert "会田" not in page.text  # the applicant's name never shows
    # Staff of the same town use the console, not the residents' pages.
    assert (await site.get(path, headers=site.as_user("kitakata.caseworker"))).status_code in (403, 404)


async def test_preferences_name_a_bad_email_and_keep_a_good_one(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    page = await site.get("/preferences", headers=auth)
    bad = {"_csrf_token": csrf_of(page.text), "channels": "email", "email": "not-an-address"}
    site.cookies.update(page.cookies)
    refused = await site.post("/preferences", data=bad, headers=auth)
    assert refused.status_code == 422
    assert 'id="error-email"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "メールアドレスの形が正しくありません" in refused.text and "regex" not in refused.text
    good = {**bad, "email": "resident@example.jp"}
    site.cookies.update(page.cookies)
    saved = await site.post("/preferences", data=good, headers=auth)
    assert saved.status_code == 200 and "保存しました" in saved.text
    stored = (await site.get("/api/v1/preferences", headers=auth)).json()
    assert stored == {"channels": ["inbox", "email"], "email": "resident@example.jp"}


async def test_a_problem_report_needs_a_place_and_keeps_it(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    page = await site.get("/report/road-damage", headers=auth)
    assert page.status_code == 200 and 'id="lat"' in page.text and 'id="address_string"' in page.text
    form = {"_csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key"),
            "damage_type": "pothole", "traffic_impact": "none", "description": "大きな穴"}
    site.cookies.update(page.cookies)
    missing = await site.post("/report/road-damage", data=form, headers=auth)
    assert missing.status_code == 422 and 'id="error-location"' in missing.text
    site.cookies.update(page.cookies)
    bad_lat = await site.post("/report/road-damage", data={**form, "lat": "north", "long": "139.87"}, headers=auth)
    assert bad_lat.status_code == 422
    site.cookies.update(page.cookies)
    sent = await site.post("/report/road-damage", data={**form, "lat": "37.6509", "long": "139.8746", "address_string": "市役所前"},
                           headers=auth)
    assert sent.status_code == 303, main_of(sent.text)
    app_id = sent.headers["location"].split("/")[2].split("?")[0]
    detail = (await site.get(f"/api/v1/applications/{app_id}", headers=auth)).json()
    assert detail["summary"]["location"] == {"lat": 37.6509, "long": 139.8746, "address_string": "市役所前"}
    script = await site.get("/assets/map.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")


async def test_display_settings_are_kept_in_cookies(site: GatewayClient) -> None:
    page = await site.get("/settings")
    site.cookies.update(page.cookies)
    sent = await site.post("/settings", data={"_csrf_token": csrf_of(page.text), "text": "large", "lang": "en"})
    assert sent.status_code == 303
    assert sent.cookies.get("aizu_text") == "large" and sent.cookies.get("aizu_lang") == "en"
    site.cookies.update({"aizu_text": "large", "aizu_lang": "en"})
    large = await site.get("/")
    assert "font-size: 137.5%" in large.text and '<html lang="en">' in large.text


async def test_unknown_pages_and_apis_answer_404_in_their_own_format(site: GatewayClient) -> None:
    page = await site.get("/no/such/page")
    assert page.status_code == 404 and "ページが見つかりません" in page.text
    api = await site.get("/api/v1/no-such-route")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
    council = await site.get("/procedures", headers={"host": "council.localhost"})
    assert council.status_code == 404


async def test_the_faq_answers_in_japanese_and_logs_what_it_could_not(site: GatewayClient) -> None:
    answered = await site.get("/faq", params={"q": "住民票をとりたい"})
    assert answered.status_code == 200
    assert "住民票" in main_of(answered.text) and "ぴったりのお答えが見つかりませんでした" not in answered.text
    browse = await site.get("/faq")
    assert browse.text.count("<details>") >= 100
    odd = "宇宙船の駐車許可はどこで"
    missed = await site.get("/faq", params={"q": odd})
    assert "ぴったりのお答えが見つかりませんでした" in missed.text
    too_long = await site.get("/faq", params={"q": "あ" * 201})
    assert too_long.status_code == 400 and 'id="error-q"' in too_long.text
    staff_view = await site.get("/staff/faq", headers=site.as_user("kitakata.caseworker"))
    assert staff_view.status_code == 200 and odd in staff_view.text
    other_town = await site.get("/staff/faq", headers=site.as_user("aizuwakamatsu.caseworker"))
    assert other_town.status_code == 403 and odd not in other_town.text
    assert (await site.get("/staff/faq", headers=site.as_user(RESIDENT))).status_code == 403


async def test_a_device_subscribes_to_push_from_the_preferences_page(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    page = await site.get("/preferences", headers=auth)
    assert 'id="push-form"' in page.text and re.search(r'data-key="[A-Za-z0-9_-]{80,}"', page.text)
    form = {"_csrf_token": csrf_of(page.text), "endpoint": "https://fcm.googleapis.com/fcm/send/device-1",
            "p256dh": "not-a-key", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}
    site.cookies.update(page.cookies)
    refused = await site.post("/preferences/push", data=form, headers=auth)
    assert refused.status_code in (400, 422) and "p256dh" in refused.text
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    good = {**form, "p256dh": base64.urlsafe_b64encode(point).rstrip(b"=").decode()}
    site.cookies.update(page.cookies)
    saved = await site.post("/preferences/push", data=good, headers=auth)
    assert saved.status_code == 303 and saved.headers["location"] == "/preferences?push=1"
    worker = await site.get("/sw.js")
    assert worker.status_code == 200 and "showNotification" in worker.text


async def test_the_home_page_carries_an_approved_emergency_alert_only(site: GatewayClient) -> None:
    alert = {"kind": "emergency", "title_ja": "避難指示（テスト）", "body_ja": "塩川地区に避難指示が出ました。",
             "title_en": "Evacuation order (test)", "body_en": "Evacuate the Shiokawa district."}
    created = await site.post("/api/v1/broadcasts", json=alert, headers=site.as_user("kitakata.admin"))
    assert created.status_code in (200, 201), created.text
    waiting = await site.get("/")
    assert "避難指示（テスト）" not in waiting.text  # not approved yet: nowhere
    # A reason in case nobody of 喜多方市 is imported in this database (tests/test_alerts.py covers the refusal).
    approved = await site.post(f"/api/v1/broadcasts/{created.json()['id']}/approve", headers=site.as_user("kitakata.admin2"),
                               json={"zero_recipients_reason": "表示の確認"})
    assert approved.status_code == 200, approved.text
    home = await site.get("/")
    banner = re.search(r'<section class="alert" role="alert".*?</section>', home.text, re.S)
    assert banner and "避難指示（テスト）" in banner.group(0)
    english = await site.get("/", params={"lang": "en"})
    assert "Evacuation order (test)" in english.text
    elsewhere = await site.get("/", headers={"host": "aizuwakamatsu.localhost"})
    assert "避難指示（テスト）" not in elsewhere.text


async def test_a_region_wide_announcement_is_news_in_every_town(site: GatewayClient) -> None:
    council = {"host": "council.localhost"}
    note = {"kind": "announcement", "target": "region", "title_ja": "会津地域の大雪情報（テスト）", "body_ja": "大雪に注意してください。",
            "title_en": "Heavy snow in Aizu (test)", "body_en": "Take care in the heavy snow."}
    created = await site.post("/api/v1/broadcasts", json=note, headers={**council, **site.as_user("council.member")})
    assert created.status_code == 201, created.text
    assert "会津地域の大雪情報" not in (await site.get("/")).text  # region-wide needs a second council member
    approved = await site.post(f"/api/v1/broadcasts/{created.json()['id']}/approve",
                               headers={**council, **site.as_user("council.member2")}, json={"zero_recipients_reason": "表示の確認"})
    assert approved.status_code == 200, approved.text
    for host in ("kitakata.localhost", "showa.localhost"):
        home = await site.get("/", headers={"host": host})
        assert "会津地域の大雪情報（テスト）" in main_of(home.text), host


async def test_the_portal_routes_methods_parameters_and_audiences_as_pages(site: GatewayClient) -> None:
    """Litestar routes the bus's page requests: a method a page does not take is 405, a path
    parameter that is no id is no page (404), a page for another audience is 401 or 403 in the
    reader's language, and the same path is another page at the council's host."""
    auth = site.as_user(RESIDENT)
    inbox = await site.get("/inbox", headers=auth)
    site.cookies.update(inbox.cookies)
    wrong = await site.post("/inbox", data={"_csrf_token": csrf_of(inbox.text)}, headers=auth)
    assert wrong.status_code == 405 and "ページが見つかりません" in wrong.text
    for odd in ("/procedures/a%20b", "/applications/" + "x" * 200, "/procedures/%E4%BD%8F%E6%B0%91"):
        page = await site.get(odd, headers=auth)
        assert page.status_code == 404 and "ページが見つかりません" in page.text, odd
    # Trailing slash: the same page.
    assert (await site.get("/procedures/juminhyo-copy/", headers=auth)).status_code == 200
    # A resident at the staff console; the staff at a resident's page; a signed-out visitor.
    staff_page = await site.get("/staff", headers=auth)
    assert staff_page.status_code == 403 and "このページは表示できません" in staff_page.text
    own = await site.get("/inbox", headers=site.as_user("kitakata.caseworker"))
    assert own.status_code == 403
    assert (await site.get("/staff")).status_code == 401
    # The council's dashboard is not a town page, and a town's page is not the council's.
    council = site.as_user("council.member")
    assert (await site.get("/")).status_code == 200
    assert (await site.get("/", headers={"host": "council.localhost"})).status_code == 401  # the dashboard
    assert (await site.get("/staff/metrics", headers={"host": "council.localhost", **council})).status_code == 404
    assert (await site.get("/metrics.csv", headers=auth)).status_code == 404
    site.cookies.update({"aizu_lang": "en"})
    english = await site.get("/staff", headers=auth)
    assert english.status_code == 403 and "You cannot see this page" in english.text
