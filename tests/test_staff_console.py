"""The staff console through the real gateway: the queue and its filters, an application's detail
and transitions, counter filing, the procedures offered, the town's templates, broadcasts with
their second-person approval, and who may use them. Real nats-server, procedures, notifications
and portal services on SQLite."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from contracts.tenants import Region
from services.runtime.database import create_engine
from tests.conftest import GatewayClient, gateway_client, running_notifications, running_portal, running_procedures
from tests.pages import csrf_of, hidden, main_of

pytestmark = pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)

CASEWORKER = "kitakata.caseworker"
ADMIN = "kitakata.admin"
OTHER_TOWN = "aizuwakamatsu.caseworker"
APPS = "/api/v1/applications"
COUNTER_PERSON = {"counter_name": "会津 花子", "counter_address": "福島県喜多方市御清水東7244-2", "counter_birthdate": "1941/3/9"}


@pytest.fixture
async def console(nats_url: str, procedures_db: str, notifications_db: str, portal_db: str, region: Region) -> AsyncIterator[GatewayClient]:
    async with running_procedures(nats_url, procedures_db), running_notifications(nats_url, notifications_db):
        async with running_portal(nats_url, portal_db, region):
            async with gateway_client(region, nats_url, host="kitakata.localhost") as client:
                client.db_url = procedures_db  # type: ignore[attr-defined]
                yield client


async def post_form(client: GatewayClient, path: str, user: str, form: dict[str, str], host: str | None = None) -> httpx.Response:
    """A form post as a browser makes it: the page first (for the CSRF cookie and token), then the post."""
    headers = {**client.as_user(user), **({"host": host} if host else {})}
    page = await client.get(path, headers=headers)
    token = csrf_of(page.text)
    client.cookies.update(page.cookies)
    return await client.post(path, data={"_csrf_token": token, **form}, headers=headers)


async def file_online(client: GatewayClient, resident: str = "kitakata.resident") -> dict[str, Any]:
    sent = await client.post(APPS, json={"code": "juminhyo-copy"}, headers={**client.as_user(resident), "idempotency-key": str(uuid.uuid4())})
    assert sent.status_code == 201, sent.text
    return sent.json()["application"]


async def status_of(client: GatewayClient, app_id: str) -> str:
    return (await client.get(f"{APPS}/{app_id}", headers=client.as_user(CASEWORKER))).json()["summary"]["status"]


async def test_the_queue_shows_the_towns_filings_with_filters(console: GatewayClient) -> None:
    filed = await file_online(console)
    page = await console.get("/staff", headers=console.as_user(CASEWORKER))
    assert page.status_code == 200
    body = main_of(page.text)
    assert '<html lang="ja">' in page.text and "<h1>申請の一覧</h1>" in body
    assert f'href="/staff/applications/{filed["id"]}"' in body
    assert 'aria-label="職員用メニュー"' in page.text
    online = main_of((await console.get("/staff", params={"channel": "online", "code": "juminhyo-copy"}, headers=console.as_user(CASEWORKER))).text)
    assert filed["id"] in online and '<option value="online" selected>' in online
    counter = main_of((await console.get("/staff", params={"channel": "counter"}, headers=console.as_user(CASEWORKER))).text)
    assert filed["id"] not in counter
    english = await console.get("/staff", params={"lang": "en"}, headers=console.as_user(CASEWORKER))
    assert "<h1>Applications</h1>" in english.text and "Being reviewed" in english.text


async def test_a_bad_filter_is_named_on_its_field(console: GatewayClient) -> None:
    page = await console.get("/staff", params={"status": "lost"}, headers=console.as_user(CASEWORKER))
    assert page.status_code == 422
    body = main_of(page.text)
    assert 'href="#field-status"' in body and 'id="error-status"' in body
    assert re.search(r'<select id="field-status" name="status" aria-describedby="error-status" aria-invalid="true">', body)


async def test_overdue_filings_are_marked(console: GatewayClient) -> None:
    late, on_time = await file_online(console), await file_online(console)
    engine = create_engine(console.db_url)  # type: ignore[attr-defined]
    async with engine.begin() as conn:  # ten days late: the clock cannot be moved, the due date can
        await conn.execute(text("UPDATE applications SET due_on = :d WHERE id = :id"), {"d": date.today() - timedelta(days=10), "id": late["id"]})
    await engine.dispose()
    body = main_of((await console.get("/staff", headers=console.as_user(CASEWORKER))).text)
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr[^>]*>\s*<td><a href="/staff/applications/([0-9a-f-]{36})".*?</tr>', body, re.S)}
    assert "期限超過" in rows[late["id"]] and 'class="overdue"' in rows[late["id"]]
    assert "期限超過" not in rows[on_time["id"]]
    detail = await console.get(f"/staff/applications/{late['id']}", headers=console.as_user(CASEWORKER))
    assert "期限超過" in main_of(detail.text)


async def test_another_towns_staff_and_residents_cannot_use_the_console(console: GatewayClient) -> None:
    filed = await file_online(console)
    paths = ["/staff", f"/staff/applications/{filed['id']}", "/staff/counter", "/staff/counter/juminhyo-copy",
             "/staff/procedures", "/staff/templates", "/staff/broadcasts"]
    for user in (OTHER_TOWN, "aizuwakamatsu.admin", "kitakata.resident"):
        for path in paths:
            page = await console.get(path, headers=console.as_user(user))
            assert page.status_code == 403, (user, path)
            assert filed["applicant_name"] not in main_of(page.text) and "このページは表示できません" in page.text
    for path in paths:
        assert (await console.get(path)).status_code == 401, path
    # Nor can they act: a move, a counter filing, a template, each refused and nothing changed.
    moved = await post_form(console, f"/staff/applications/{filed['id']}", OTHER_TOWN, {"to": "in_review"})
    assert moved.status_code == 403 and await status_of(console, filed["id"]) == "received"
    filing = await post_form(console, "/staff/counter/juminhyo-copy", OTHER_TOWN, {**COUNTER_PERSON, "idempotency_key": str(uuid.uuid4())})
    assert filing.status_code == 403
    template = await post_form(console, "/staff/templates", OTHER_TOWN, {"kind": "application.submitted", "title_ja": "x", "body_ja": "x", "title_en": "x", "body_en": "x"})
    assert template.status_code == 403
    # In their own town's console, the other town's application does not exist.
    own = await console.get(f"/staff/applications/{filed['id']}", headers={**console.as_user(OTHER_TOWN), "host": "aizuwakamatsu.localhost"})
    assert own.status_code == 404 and filed["applicant_name"] not in own.text
    queue = await console.get("/staff", headers={**console.as_user(OTHER_TOWN), "host": "aizuwakamatsu.localhost"})
    assert queue.status_code == 200 and filed["id"] not in queue.text


async def test_a_reports_place_is_on_its_detail_with_choices_by_their_labels(console: GatewayClient) -> None:
    where = {"lat": 37.6508, "long": 139.8747, "address_string": "喜多方市役所前の交差点"}
    sent = await console.post(APPS, json={"code": "road-damage", "answers": {"damage_type": "crack", "traffic_impact": "none"}, "location": where},
                              headers={**console.as_user("kitakata.resident"), "idempotency-key": str(uuid.uuid4())})
    assert sent.status_code == 201, sent.text
    road = (await console.get("/api/v1/procedures/road-damage")).json()
    crack = next(c["label_ja"] for f in road["fields"] if f["name"] == "damage_type" for c in f["choices"] if c["value"] == "crack")
    body = main_of((await console.get(f"/staff/applications/{sent.json()['application']['id']}", headers=console.as_user(CASEWORKER))).text)
    assert "喜多方市役所前の交差点" in body and "緯度 37.6508・経度 139.8747" in body
    assert "https://www.openstreetmap.org/?mlat=37.6508&amp;mlon=139.8747" in body
    assert f"<dd>{crack}</dd>" in body


async def test_a_caseworker_moves_an_application_on_and_a_bad_move_is_shown(console: GatewayClient) -> None:
    filed = await file_online(console)
    path = f"/staff/applications/{filed['id']}"
    page = await console.get(path, headers=console.as_user(CASEWORKER))
    body = main_of(page.text)
    assert page.status_code == 200 and filed["applicant_name"] in body and "受付済み" in body
    assert '<input type="radio" name="to" value="in_review">' in body and 'value="withdrawn"' not in body  # the resident's move
    assert '<label for="field-comment">' in body and 'aria-describedby="hint-comment"' in body
    moved = await post_form(console, path, CASEWORKER, {"to": "in_review", "comment": "書類を確認しています。", "counter_visit": "1"})
    assert moved.status_code == 303 and moved.headers["location"] == f"{path}?moved=1"
    after = main_of((await console.get(moved.headers["location"], headers=console.as_user(CASEWORKER))).text)
    assert "状況を変更しました。" in after and "書類を確認しています。" in after
    assert await status_of(console, filed["id"]) == "in_review"
    # From in_review, "issued" is not a step: the service says which are, on the form's field.
    refused = await post_form(console, path, CASEWORKER, {"to": "issued", "comment": "早すぎる交付"})
    assert refused.status_code == 409
    body = main_of(refused.text)
    assert 'href="#field-to"' in body and 'id="error-to"' in body and "いまの状況からは「交付済み」に変えられません。選べるのは：追加の情報が必要、承認、不承認" in body
    assert '<fieldset id="field-to" aria-describedby="error-to">' in body
    assert "早すぎる交付" in body  # what was typed is kept
    unknown = await post_form(console, path, CASEWORKER, {"to": "teleported"})
    assert unknown.status_code == 422 and 'id="error-to"' in unknown.text
    nothing = await post_form(console, path, CASEWORKER, {"comment": "選び忘れ"})
    assert nothing.status_code == 422 and "次の状況を選んでください。" in nothing.text
    too_long = await post_form(console, path, CASEWORKER, {"to": "approved", "comment": "あ" * 2001})
    assert too_long.status_code == 422 and 'id="error-comment"' in too_long.text
    assert await status_of(console, filed["id"]) == "in_review"


async def test_counter_filing_creates_a_counter_application(console: GatewayClient) -> None:
    choose = await console.get("/staff/counter", headers=console.as_user(CASEWORKER))
    assert choose.status_code == 200 and 'href="/staff/counter/juminhyo-copy"' in choose.text
    assert "/staff/counter/road-damage" not in choose.text  # reports are taken with their place
    form_page = await console.get("/staff/counter/juminhyo-copy", headers=console.as_user(CASEWORKER))
    body = main_of(form_page.text)
    assert '<label for="field-counter_name">' in body and 'name="counter_birthdate"' in body
    assert 'name="applicant_name"' not in body  # the identity is asked once, as the person at the desk
    form = {"_csrf_token": csrf_of(form_page.text), "idempotency_key": hidden(form_page.text, "idempotency_key"), **COUNTER_PERSON, "counter_birthdate": "昭和16年3月9日", "copies": "2"}
    console.cookies.update(form_page.cookies)
    sent = await console.post("/staff/counter/juminhyo-copy", data=form, headers=console.as_user(CASEWORKER))
    assert sent.status_code == 303, sent.text[:800]
    found = re.fullmatch(r"/staff/applications/([0-9a-f-]{36})\?filed=1", sent.headers["location"])
    assert found
    detail = (await console.get(f"{APPS}/{found.group(1)}", headers=console.as_user(CASEWORKER))).json()
    assert detail["summary"]["channel"] == "counter" and detail["summary"]["applicant_name"] == "会津 花子"
    assert detail["answers"]["birthdate"] == "1941-03-09" and str(detail["answers"]["copies"]) == "2"
    assert detail["filed_by"]
    shown = main_of((await console.get(sent.headers["location"], headers=console.as_user(CASEWORKER))).text)
    assert "窓口での申請を受け付けました。" in shown and "窓口" in shown
    # A second tap on the same form is the same filing.
    console.cookies.update(form_page.cookies)
    again = await console.post("/staff/counter/juminhyo-copy", data=form, headers=console.as_user(CASEWORKER))
    assert again.headers["location"] == sent.headers["location"]


async def test_counter_filing_names_each_bad_field_and_files_nothing(console: GatewayClient) -> None:
    def counted() -> Any:
        return console.get(APPS, params={"channel": "counter", "limit": 500}, headers=console.as_user(CASEWORKER))

    before = len((await counted()).json()["items"])
    key = str(uuid.uuid4())
    missing = await post_form(console, "/staff/counter/juminhyo-copy", CASEWORKER,
                              {"counter_name": "", "counter_address": "喜多方市", "counter_birthdate": "昭和16年", "idempotency_key": key})
    assert missing.status_code == 422
    body = main_of(missing.text)
    for name in ("counter_name", "counter_birthdate"):
        assert f'href="#field-{name}"' in body and f'id="error-{name}"' in body
    assert 'aria-describedby="hint-counter_birthdate error-counter_birthdate" aria-invalid="true"' in body
    assert 'value="喜多方市"' in body  # what was typed stays
    bad_answer = await post_form(console, "/staff/counter/juminhyo-copy", CASEWORKER, {**COUNTER_PERSON, "copies": "9", "idempotency_key": key})
    assert bad_answer.status_code == 422 and 'id="error-copies"' in bad_answer.text
    for impossible in ("1941-02-30", "昭和70年1月1日", "平成元年1月7日"):
        refused = await post_form(console, "/staff/counter/juminhyo-copy", CASEWORKER, {**COUNTER_PERSON, "counter_birthdate": impossible, "idempotency_key": key})
        assert refused.status_code == 422 and 'id="error-counter_birthdate"' in refused.text, impossible
    assert len((await counted()).json()["items"]) == before


async def test_the_procedures_offered_with_fee_days_and_department(console: GatewayClient) -> None:
    page = await console.get("/staff/procedures", headers=console.as_user(CASEWORKER))
    assert page.status_code == 200
    body = main_of(page.text)
    listed = (await console.get("/api/v1/procedures")).json()["items"]
    assert listed and all(f'href="/procedures/{p["code"]}"' in body for p in listed)
    juminhyo = (await console.get("/api/v1/procedures/juminhyo-copy")).json()
    row = re.search(r'<tr>\s*<th scope="row"><a href="/procedures/juminhyo-copy">.*?</tr>', body, re.S)
    assert row and juminhyo["department_ja"] in row.group(0) and f'{juminhyo["fee_yen"]:,} 円' in row.group(0)


async def test_every_console_page_reads_in_english_too(console: GatewayClient) -> None:
    filed = await file_online(console)
    for path in ("/staff", f"/staff/applications/{filed['id']}", "/staff/counter", "/staff/counter/juminhyo-copy",
                 "/staff/procedures", "/staff/templates"):
        page = await console.get(path, params={"lang": "en"}, headers=console.as_user(ADMIN))
        assert page.status_code == 200, path
        assert '<html lang="en">' in page.text and 'aria-label="Staff menu"' in page.text, path
        # What staff typed (names, the Japanese template texts) stays as typed, marked lang="ja".
        words = re.sub(r'<(textarea|input)[^>]*lang="ja"[^>]*>(.*?</textarea>)?', "", main_of(page.text), flags=re.S)
        assert not re.search(r"[ぁ-ん]", words.replace(filed["applicant_name"], "")), path


TEMPLATE = {
    "kind": "application.submitted",
    "title_ja": "【湯川村】{procedure_name}を受け付けました",
    "body_ja": "{procedure_name}の申請を受け付けました。受付番号: {application_id}",
    "title_en": "[Yugawa] {procedure_name} received",
    "body_en": "We received your {procedure_name} application, number {application_id}.",
}


async def test_templates_are_read_by_staff_and_changed_by_admins_with_placeholders_checked(console: GatewayClient) -> None:
    read_only = await console.get("/staff/templates", headers=console.as_user(CASEWORKER))
    assert read_only.status_code == 200 and "<form method=\"post\" action=\"/staff/templates\"" not in read_only.text
    assert "管理者だけ" in read_only.text and "{procedure_name}" in read_only.text
    editable = await console.get("/staff/templates", headers=console.as_user(ADMIN))
    assert 'id="tpl-application-submitted-body_ja"' in editable.text
    bad = await post_form(console, "/staff/templates", ADMIN, {**TEMPLATE, "body_ja": "{procedure_name} {application_id} {resident_secret}"})
    assert bad.status_code == 422
    body = main_of(bad.text)
    assert 'href="#tpl-application-submitted-body_ja"' in body and "{resident_secret}" in body
    assert 'id="tpl-application-submitted-body_ja-error"' in body and 'aria-invalid="true"' in body
    refused = await console.get("/api/v1/templates", headers=console.as_user(ADMIN))
    assert all("resident_secret" not in t["body_ja"] for t in refused.json()["items"])
    # Saved for 湯川村, so that other tests' kitakata templates stay the regional default.
    yugawa = "yugawa.localhost"
    saved = await post_form(console, "/staff/templates", "yugawa.admin", {**TEMPLATE, "body_ja": TEMPLATE["body_ja"].replace("。", "。\r\n")}, host=yugawa)
    assert saved.status_code == 303, saved.text[:800]
    shown = await console.get("/staff/templates", headers={**console.as_user("yugawa.caseworker"), "host": yugawa})
    assert "この市町村の文面" in shown.text and "【湯川村】{procedure_name}を受け付けました" in shown.text
    stored = {t["kind"]: t for t in (await console.get("/api/v1/templates", headers={**console.as_user("yugawa.admin"), "host": yugawa})).json()["items"]}
    assert "\r" not in stored["application.submitted"]["body_ja"] and "\n" in stored["application.submitted"]["body_ja"]
    as_caseworker = await post_form(console, "/staff/templates", "yugawa.caseworker", TEMPLATE, host=yugawa)
    assert as_caseworker.status_code == 403


ALERT = {
    "kind": "emergency", "target": "town",
    "title_ja": "【避難指示】阿賀川の増水", "body_ja": "阿賀川が増水しています。川に近づかないでください。",
    "title_en": "[Evacuate] Aga River rising", "body_en": "The Aga River is rising. Keep away from the river.",
}


async def test_an_alert_goes_out_only_once_a_second_admin_approves_it(console: GatewayClient) -> None:
    made = await post_form(console, "/staff/broadcasts", ADMIN, ALERT)
    assert made.status_code == 303, made.text[:800]
    assert made.headers["location"].startswith("/staff/broadcasts?done=pending#broadcast-")
    cast_id = made.headers["location"].split("#broadcast-")[1]
    mine = main_of((await console.get("/staff/broadcasts", headers=console.as_user(ADMIN))).text)
    item = mine[mine.index(f'id="broadcast-{cast_id}"'):]
    item = item[: item.index("</li>")]
    assert "承認待ち" in item and "緊急情報" in item and "/approve" not in item  # no button for the author
    caseworker = await console.get("/staff/broadcasts", headers=console.as_user(CASEWORKER))
    assert caseworker.status_code == 200 and "管理者だけ" in caseworker.text and cast_id not in caseworker.text
    own = await post_form(console, f"/staff/broadcasts/{cast_id}/approve", ADMIN, {})
    assert 400 <= own.status_code < 500 and "承認できませんでした。" in own.text
    second = await console.get("/staff/broadcasts", headers=console.as_user("kitakata.admin2"))
    assert f'action="/staff/broadcasts/{cast_id}/approve"' in second.text
    # Whether or not other tests imported residents of this town, a reason makes it go (it is kept
    # only when nobody would receive it; tests/test_alerts.py covers that refusal).
    approved = await post_form(console, f"/staff/broadcasts/{cast_id}/approve", "kitakata.admin2",
                               {"zero_recipients_reason": "訓練"})
    assert approved.status_code == 303 and "done=approved" in approved.headers["location"]
    progress = await console.get(approved.headers["location"], headers=console.as_user("kitakata.admin2"))
    assert progress.status_code == 200 and "市町村ごとの状況" in progress.text and "喜多方市" in progress.text
    after = main_of((await console.get("/staff/broadcasts", headers=console.as_user(ADMIN))).text)
    item = after[after.index(f'id="broadcast-{cast_id}"'):]
    assert "承認待ち" not in item[: item.index("</li>")]


async def test_a_broadcast_with_bad_input_is_named_and_not_sent(console: GatewayClient) -> None:
    before = (await console.get("/staff/broadcasts", headers=console.as_user(ADMIN))).text.count('id="broadcast-')
    blank = await post_form(console, "/staff/broadcasts", ADMIN, {**ALERT, "title_ja": "", "body_en": ""})
    assert blank.status_code == 422
    body = main_of(blank.text)
    for name in ("title_ja", "body_en"):
        assert f'href="#field-{name}"' in body and f'id="error-{name}"' in body
    assert "阿賀川が増水しています" in body  # what was typed stays
    unknown = await post_form(console, "/staff/broadcasts", ADMIN, {**ALERT, "kind": "rumour"})
    assert unknown.status_code == 422 and 'id="error-kind"' in unknown.text
    elsewhere = await post_form(console, "/staff/broadcasts", ADMIN, {**ALERT, "target": "districts", "districts": "月面"})
    assert elsewhere.status_code == 422 and 'id="error-districts"' in elsewhere.text and "「月面」はこの市町村の地区ではありません" in elsewhere.text
    after = (await console.get("/staff/broadcasts", headers=console.as_user(ADMIN))).text.count('id="broadcast-')
    assert after == before


async def test_another_towns_admin_cannot_see_or_approve_a_towns_broadcasts(console: GatewayClient) -> None:
    made = await post_form(console, "/staff/broadcasts", ADMIN, ALERT)
    cast_id = made.headers["location"].split("#broadcast-")[1]
    assert (await console.get("/staff/broadcasts", headers=console.as_user("aizuwakamatsu.admin"))).status_code == 403
    refused = await post_form(console, f"/staff/broadcasts/{cast_id}/approve", "aizuwakamatsu.admin", {})
    assert refused.status_code == 403
    at_home = await post_form(console, f"/staff/broadcasts/{cast_id}/approve", "aizuwakamatsu.admin", {}, host="aizuwakamatsu.localhost")
    assert 400 <= at_home.status_code < 500
    page = main_of((await console.get("/staff/broadcasts", headers=console.as_user(ADMIN))).text)
    item = page[page.index(f'id="broadcast-{cast_id}"'):]
    assert "承認待ち" in item[: item.index("</li>")]


async def test_a_fee_taken_at_the_counter_is_recorded_and_reconciled_by_this_towns_staff_only(console: GatewayClient) -> None:
    filed = await file_online(console)  # 住民票の写し, 300 円, to be paid at the counter
    path = f"/staff/applications/{filed['id']}"
    page = await console.get(path, headers=console.as_user(CASEWORKER))
    assert "窓口での支払いを記録する" in page.text and "未払い" in main_of(page.text)
    unchosen = await post_form(console, path, CASEWORKER, {"kind": "payment"})
    assert unchosen.status_code == 422 and "受け取り方を選んでください" in unchosen.text
    other = await post_form(console, path, OTHER_TOWN, {"kind": "payment", "method": "cash"})
    assert other.status_code == 403
    mine = await console.get(f"{APPS}/{filed['id']}", headers=console.as_user(CASEWORKER))
    assert mine.json()["payment"]["state"] == "awaiting_payment"  # neither refusal recorded anything
    recorded = await post_form(console, path, CASEWORKER, {"kind": "payment", "method": "cash"})
    assert recorded.status_code in (302, 303) and recorded.headers["location"].endswith("?recorded=1")
    shown = main_of((await console.get(path + "?recorded=1", headers=console.as_user(CASEWORKER))).text)
    assert "支払いを記録しました" in shown and "支払い済み（窓口（現金））" in shown and "窓口での支払いを記録する" not in shown
    twice = await post_form(console, path, CASEWORKER, {"kind": "payment", "method": "card"})
    assert twice.status_code == 422

    report = main_of((await console.get("/staff/payments", headers=console.as_user(CASEWORKER))).text)
    assert filed["reference"] in report and "300" in report
    csv = await console.get("/staff/payments.csv", headers=console.as_user(CASEWORKER))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeff日時,受付番号,種別,方法,金額（円）") and f"{filed['reference']},支払い,現金,300" in csv.text
    bad = await console.get("/staff/payments?day=きのう", headers=console.as_user(CASEWORKER))
    assert bad.status_code == 422 and "2026-12-04 の形で" in bad.text
    elsewhere = await console.get("/staff/payments", headers={**console.as_user(OTHER_TOWN), "host": "aizuwakamatsu.localhost"})
    assert elsewhere.status_code == 200 and filed["reference"] not in elsewhere.text
    for user in (OTHER_TOWN, "kitakata.resident"):
        assert (await console.get("/staff/payments", headers=console.as_user(user))).status_code == 403
