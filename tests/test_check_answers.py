"""Check your answers, and the fee: what filing would file and charge, worked out by the service,
shown before anything is filed; the portal's three steps (form → check → send) without JavaScript.
Real nats-server, services, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from httpx import Response

from tests.conftest import GatewayClient, gateway_client, running_procedures
from tests.pages import confirmed, csrf_of, hidden, main_of

APPS = "/api/v1/applications"
CHECK = "/api/v1/applications/check"
BASIC = "kitakata.resident-basic"


@pytest.fixture
async def gateway(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db), gateway_client(region, nats_url) as client:
        yield client


def garbage(items: object) -> dict:
    """An oversized-garbage request (a fee per item) from a password-level sign-in."""
    return {"code": "oversized-garbage", "answers": {
        "collection_address": "福島県喜多方市字寺町4780", "phone": "0241-22-1111", "item_type": "furniture",
        "item_count": items, "item_description": "たんす", "preferred_date": "2026-12-20"}}


async def mine(gateway: GatewayClient, user: str) -> list[dict]:
    return (await gateway.get(APPS, headers=gateway.as_user(user))).json()["items"]


async def test_the_check_gives_the_fee_and_files_nothing(gateway: GatewayClient) -> None:
    unit = (await gateway.get("/api/v1/procedures/oversized-garbage")).json()["fee_yen"]
    assert unit == 400  # 喜多方市's own fee (the regional standard is 500)
    before = await mine(gateway, BASIC)
    checked = await gateway.post(CHECK, json=garbage(3), headers=gateway.as_user(BASIC))
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["fee"] == {"unit_yen": 400, "quantity": 3, "total_yen": 1200}
    assert body["answers"]["item_count"] == 3 and body["answers"]["applicant_name"]  # the name from the sign-in
    assert await mine(gateway, BASIC) == before
    # Filing the same answers fixes the same fee on the application.
    filed = await gateway.post(APPS, json=garbage(3), headers={**gateway.as_user(BASIC), "idempotency-key": str(uuid.uuid4())})
    assert filed.status_code == 201 and filed.json()["application"]["fee_yen"] == 1200
    one = await gateway.post(CHECK, json={"code": "juminhyo-copy"}, headers=gateway.as_user("kitakata.resident"))
    assert one.json()["fee"] == {"unit_yen": 300, "quantity": 1, "total_yen": 300}  # copies left blank: one


async def test_a_free_procedure_costs_nothing(gateway: GatewayClient) -> None:
    detail = (await gateway.get("/api/v1/procedures/tax-payment-certificate")).json()
    assert detail["fee_per"] is None and detail["fee_yen"] == 300  # per application, whatever is asked
    free = [p for p in (await gateway.get("/api/v1/procedures")).json()["items"] if p["fee_yen"] == 0]
    assert free


@pytest.mark.parametrize(("items", "field"), [(2.5, "item_count"), (0, "item_count"), ("たくさん", "item_count"), (11, "item_count")])
async def test_a_count_that_is_not_a_whole_number_is_named(gateway: GatewayClient, items: object, field: str) -> None:
    checked = await gateway.post(CHECK, json=garbage(items), headers=gateway.as_user(BASIC))
    assert checked.status_code == 422, checked.text
    assert [e["field"] for e in checked.json()["errors"]] == [f"$.answers.{field}"]
    filed = await gateway.post(APPS, json=garbage(items), headers={**gateway.as_user(BASIC), "idempotency-key": str(uuid.uuid4())})
    assert filed.status_code == 422  # filing refuses what the check refuses


async def test_a_missing_body_or_key_is_named_in_both_languages(gateway: GatewayClient) -> None:
    empty = await gateway.post(CHECK, headers=gateway.as_user(BASIC))
    assert empty.status_code == 400 and empty.headers["content-type"] == "application/problem+json"
    assert empty.json()["errors"] == [{"field": "$", "message_ja": "本文（JSON）がありません。", "message_en": "A JSON body is required"}]
    keyless = await gateway.post(APPS, json=garbage(1), headers=gateway.as_user(BASIC))
    assert keyless.status_code == 400, keyless.text
    [error] = keyless.json()["errors"]
    assert error["field"] == "Idempotency-Key" and error["message_ja"] and error["message_en"]


async def test_the_check_is_no_way_around_the_towns_rules(gateway: GatewayClient) -> None:
    # Another town's caseworker cannot check (or learn from) a counter filing here.
    counter = {"code": "juminhyo-copy", "counter_applicant": {"name": "会田 花子", "address": "喜多方市", "birthdate": "1950-01-01"}}
    other = await gateway.post(CHECK, json=counter, headers=gateway.as_user("aizuwakamatsu.caseworker"))
    assert other.status_code == 403
    own = await gateway.post(CHECK, json=counter, headers=gateway.as_user("kitakata.caseworker"))
    assert own.status_code == 200 and own.json()["fee"]["total_yen"] == 300
    # A card-level procedure needs the card at the check as at filing (a step-up: 401); signed out, no check.
    step_up = await gateway.post(CHECK, json={"code": "juminhyo-copy"}, headers=gateway.as_user(BASIC))
    filing = await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers={**gateway.as_user(BASIC), "idempotency-key": str(uuid.uuid4())})
    assert step_up.status_code == filing.status_code == 401 and "jpki" in step_up.text
    assert (await gateway.post(CHECK, json={"code": "juminhyo-copy"})).status_code == 401
    unknown = await gateway.post(CHECK, json={"code": "no-such-procedure"}, headers=gateway.as_user(BASIC))
    assert unknown.status_code == 404
    malformed = await gateway.post(CHECK, json={"code": "juminhyo-copy", "answers": []}, headers=gateway.as_user(BASIC))
    assert malformed.status_code == 400 and "answers" in malformed.text


async def checked(site: GatewayClient) -> tuple[dict[str, str], Response]:
    """The oversized-garbage form filled in the portal (2 items) and posted: its check page."""
    auth = site.as_user(BASIC)
    form_page = await site.get("/procedures/oversized-garbage", headers=auth)
    site.cookies.update(form_page.cookies)
    answers = {k: str(v) for k, v in garbage(2)["answers"].items()}
    form = {"_csrf_token": csrf_of(form_page.text), "idempotency_key": hidden(form_page.text, "idempotency_key"), **answers}
    return form, await site.post("/procedures/oversized-garbage", data=form, headers=auth)


@pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)
async def test_change_goes_back_to_the_form_with_every_answer_kept(site: GatewayClient) -> None:
    auth = site.as_user(BASIC)
    form, check = await checked(site)
    assert check.status_code == 200, check.text[:500]
    shown = main_of(check.text)
    assert "家具（たんす・机・いす など）" in shown and "2026年12月20日" in shown  # as people read them
    assert "400 円 × 2（点数）" in shown and "合計 800 円" in shown
    before = await mine(site, BASIC)
    back = await site.post("/procedures/oversized-garbage", data={**confirmed(check.text), "step": "", "change": "item_count"},
                           headers=auth)
    assert back.status_code == 200
    again = main_of(back.text)
    assert '>たんす</textarea>' in again and 'value="2"' in again and 'value="furniture" checked' in again
    assert await mine(site, BASIC) == before  # changing files nothing
    # Changed to 3 items and checked again, the total follows; sent, it is filed once with that fee.
    check = await site.post("/procedures/oversized-garbage", data={**form, "item_count": "3"}, headers=auth)
    assert "合計 1,200 円" in main_of(check.text)
    sent = await site.post("/procedures/oversized-garbage", data=confirmed(check.text), headers=auth)
    twice = await site.post("/procedures/oversized-garbage", data=confirmed(check.text), headers=auth)
    assert sent.status_code == twice.status_code == 303 and sent.headers["location"] == twice.headers["location"]
    after = await mine(site, BASIC)
    assert len(after) == len(before) + 1 and after[0]["fee_yen"] == 1200
    # The town's caseworker sees the fee the resident saw; another town's does not see the filing.
    staff_page = f"/staff/applications/{after[0]['id']}"
    assert "1,200 円" in main_of((await site.get(staff_page, headers=site.as_user("kitakata.caseworker"))).text)
    assert (await site.get(staff_page, headers=site.as_user("aizuwakamatsu.caseworker"))).status_code in (403, 404)


@pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)
async def test_an_answer_made_wrong_on_the_way_to_sending_is_named_not_filed(site: GatewayClient) -> None:
    """The check page's fields are the resident's to post: a changed one is checked again at sending."""
    auth = site.as_user(BASIC)
    form, check = await checked(site)
    before = await mine(site, BASIC)
    tampered = await site.post("/procedures/oversized-garbage", data={**confirmed(check.text), "item_count": "99"}, headers=auth)
    assert tampered.status_code == 422 and 'id="error-item_count"' in tampered.text
    assert await mine(site, BASIC) == before


async def test_a_certificate_can_be_posted_or_collected_at_the_towns_counter(gateway: GatewayClient) -> None:
    detail = (await gateway.get("/api/v1/procedures/juminhyo-copy")).json()
    delivery = next(f for f in detail["fields"] if f["name"] == "delivery")
    labels = {c["value"]: c["label_ja"] for c in delivery["choices"]}
    assert labels["post"] == "郵送（住民登録地あて）"
    assert labels["counter-1"] == "窓口で受け取る：喜多方市役所（〒966-8601 福島県喜多方市字御清水東7244番地2、平日 8:30〜17:15）"
    other = (await gateway.get("/api/v1/procedures/juminhyo-copy", headers={"host": "kitashiobara.localhost"})).json()
    assert "北塩原村役場" in next(f for f in other["fields"] if f["name"] == "delivery")["choices"][1]["label_ja"]
    resident = gateway.as_user("kitakata.resident")
    chosen = await gateway.post(CHECK, json={"code": "juminhyo-copy", "answers": {"delivery": "counter-1"}}, headers=resident)
    assert chosen.status_code == 200 and chosen.json()["answers"]["delivery"] == "counter-1"
    unknown = await gateway.post(CHECK, json={"code": "juminhyo-copy", "answers": {"delivery": "counter-9"}}, headers=resident)
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["$.answers.delivery"]
    # A procedure that issues nothing to collect asks nothing of the kind.
    garbage_form = (await gateway.get("/api/v1/procedures/oversized-garbage")).json()
    assert "delivery" not in {f["name"] for f in garbage_form["fields"]}


def test_a_town_may_list_its_branch_offices(region) -> None:
    import msgspec

    from contracts.tenants import Office
    from services.procedures.offers import delivery

    town = region.town("kitakata")
    branches = msgspec.structs.replace(town, offices=[
        Office(name_ja="本庁 市民課", name_en="Main office", address_ja="喜多方市字御清水東7244番地2", hours_ja="平日 8:30〜17:15"),
        Office(name_ja="塩川総合支所", name_en="Shiokawa branch", address_ja="喜多方市塩川町", hours_ja=""),
    ])
    choices = delivery(branches).choices
    assert [c.value for c in choices] == ["post", "counter-1", "counter-2"]
    assert choices[2].label_ja == "窓口で受け取る：塩川総合支所（喜多方市塩川町）"  # no hours listed, none shown
