"""Applications end to end: gateway → NATS → procedures → database, on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import nats
import pytest
from sqlalchemy import event, text
from sqlalchemy.util import await_only

from contracts.applications import Status
from services.procedures import counter_codes
from services.procedures.chain import seal, verify
from services.procedures.models import StatusChangeRow
from services.runtime.database import create_engine, session_factory
from tests.conftest import gateway_client, running_procedures

APPS = "/api/v1/applications"


@pytest.fixture
async def gateway(region, nats_url, procedures_db):
    async with running_procedures(nats_url, procedures_db) as services, gateway_client(region, nats_url) as client:
        client.db_url = procedures_db
        client.services = services
        yield client


def key() -> dict[str, str]:
    return {"idempotency-key": str(uuid.uuid4())}


async def submit(gateway, user: str, body: dict, host: str = "kitakata.localhost", **headers: str):
    return await gateway.post(APPS, json=body, headers={**gateway.as_user(user), **key(), "host": host, **headers})


async def test_a_card_verified_resident_submits_with_zero_typed_fields(gateway):
    response = await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})
    assert response.status_code == 201, response.text
    created = response.json()
    me = (await gateway.get("/api/v1/me", headers=gateway.as_user("kitakata.resident"))).json()["identity"]
    app = created["application"]
    assert app["status"] == "received" and app["channel"] == "online" and app["applicant_name"] == me["name"]
    assert created["receipt"].count(".") == 2
    detail = (await gateway.get(f"{APPS}/{app['id']}", headers=gateway.as_user("kitakata.resident"))).json()
    assert me["address"] in detail["answers"].values()
    assert [h["to_status"] for h in detail["history"]] == ["received"]
    assert detail["allowed_transitions"] == ["withdrawn"]


async def test_a_filing_gets_a_reference_people_can_read(gateway):
    from services.procedures.references import is_reference

    filed = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]
    reference = filed["reference"]
    year = datetime.now(ZoneInfo("Asia/Tokyo")).year
    assert reference.startswith(f"KTK-{year}-") and is_reference(reference), reference
    listed = (await gateway.get(APPS, headers=gateway.as_user("kitakata.resident"))).json()["items"]
    assert {a["reference"] for a in listed if a["id"] == filed["id"]} == {reference}
    # Staff find it as it was read out on the phone; another town's staff do not.
    typed = " " + reference.lower().replace("-", "－") + " "
    found = (await gateway.get(APPS, params={"reference": typed}, headers=gateway.as_user("kitakata.caseworker"))).json()["items"]
    assert [a["id"] for a in found] == [filed["id"]]
    elsewhere = await gateway.get(APPS, params={"reference": reference},
                                  headers={**gateway.as_user("aizuwakamatsu.caseworker"), "host": "aizuwakamatsu.localhost"})
    assert elsewhere.json()["items"] == []
    slip = reference[:-1] + str((int(reference[-1]) + 1) % 10)  # misheard check digit: said so, by name
    refused = await gateway.get(APPS, params={"reference": slip}, headers=gateway.as_user("kitakata.caseworker"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "$.reference"
    # One wrong digit, or two neighbours swapped, is caught by the check digit.
    digits = reference[9:15]
    assert not is_reference(reference[:9] + str((int(digits[0]) + 1) % 10) + reference[10:])
    if digits[-2] != digits[-1]:
        assert not is_reference(reference[:13] + digits[-1] + digits[-2] + reference[15:])


async def test_a_thousand_concurrent_filings_get_a_thousand_consecutive_references(gateway, nats_url):
    from contracts import headers as h
    from contracts.principal import Identity, Principal, encode

    resident = Principal(subject=f"bulk-{uuid.uuid4().hex[:8]}", roles=("resident",), tenant="yanaizu", acr="jpki",
                         identity=Identity(name="柳津 一郎", address="福島県河沼郡柳津町大字柳津字下平乙234", birthdate="1960-01-01"))
    nc = await nats.connect(nats_url)
    try:
        async def one(n: int) -> dict:
            reply = await nc.request("aizu.yanaizu.procedures.submit", json.dumps({"code": "juminhyo-copy"}).encode(),
                                     headers={h.PRINCIPAL: encode(resident), h.IDEMPOTENCY_KEY: f"bulk-{uuid.uuid4()}"},
                                     timeout=60)
            return json.loads(reply.data)["application"]
        filed = await asyncio.gather(*(one(n) for n in range(1000)))
    finally:
        await nc.close()
    numbers = sorted(int(a["reference"].split("-")[2]) for a in filed)
    assert len(set(numbers)) == 1000 and numbers[-1] - numbers[0] == 999, (numbers[:3], numbers[-3:])
    assert all(a["reference"].startswith("YNZ-") for a in filed)


async def test_due_date_follows_the_standard_processing_days(gateway, region):
    response = await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})
    app = response.json()["application"]
    days = next(o for o in region.town("kitakata").procedures if o.code == "juminhyo-copy").processing_days
    days = region.standard("juminhyo-copy").processing_days if days is None else days
    assert (app["due_on"] is None) == (days == 0)


async def test_missing_idempotency_key_is_400(gateway):
    response = await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers=gateway.as_user("kitakata.resident"))
    assert response.status_code == 400
    assert "Idempotency-Key" in response.text


async def test_a_replay_returns_the_first_response_and_files_once(gateway):
    headers = {**gateway.as_user("kitakata.resident"), **key()}
    first = await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers=headers)
    again = await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.content == again.content


async def test_the_same_key_with_another_body_is_422(gateway):
    headers = {**gateway.as_user("kitakata.resident"), **key()}
    assert (await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers=headers)).status_code == 201
    other = await gateway.post(APPS, json={"code": "juminhyo-copy", "answers": {"copies": "2"}}, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


async def test_a_concurrent_duplicate_is_409(gateway):
    # The first request still holds its key (its work not yet committed) when the duplicate arrives.
    token = gateway.as_user("kitakata.resident")
    me = (await gateway.get("/api/v1/me", headers=token)).json()
    k = str(uuid.uuid4())
    keys = gateway.services[0].app.components.applications.keys
    async with keys.claim("kitakata", me["subject"], k):
        response = await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers={**token, "idempotency-key": k})
    assert response.status_code == 409
    assert (await gateway.post(APPS, json={"code": "juminhyo-copy"}, headers={**token, "idempotency-key": k})).status_code == 201


async def test_concurrent_duplicates_file_exactly_one_application(gateway):
    headers = {**gateway.as_user("kitakata.resident"), **key()}
    body = {"code": "income-certificate", "answers": {"certificate_type": "income", "fiscal_year": "latest"}}
    responses = await asyncio.gather(*(gateway.post(APPS, json=body, headers=headers) for _ in range(6)))
    created = {r.json()["application"]["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert all(r.status_code in (201, 409) for r in responses)


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        ({"owner_postal_code": "12345", "phone": "12"}, {"$.answers.owner_postal_code", "$.answers.phone"}),
        ({"breed": ["a list"]}, {"$.answers.breed"}),
        ({"no_such_field": "x"}, {"$.answers.no_such_field"}),
    ],
)
async def test_bad_answers_name_every_field_in_both_languages_and_write_nothing(gateway, region, answers, fields):
    dog = {f.name for f in region.standard("dog-registration").fields}
    assert {f.split(".")[-1] for f in fields} - {"no_such_field"} <= dog
    before = (await gateway.get(APPS, headers=gateway.as_user("kitakata.resident"))).json()["items"]
    response = await submit(gateway, "kitakata.resident", {"code": "dog-registration", "answers": answers})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation"
    named = {e["field"] for e in problem["errors"]}
    assert fields <= named
    assert all(e["message_ja"] and e["message_en"] for e in problem["errors"])
    after = (await gateway.get(APPS, headers=gateway.as_user("kitakata.resident"))).json()["items"]
    assert after == before


async def test_a_resident_cannot_type_over_the_verified_identity(gateway, region):
    name_field = next(f.name for f in region.standard("juminhyo-copy").fields if f.prefill == "name")
    response = await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy", "answers": {name_field: "別人"}})
    assert response.status_code == 422 and name_field in response.json()["detail"]


async def test_a_field_the_sign_in_does_not_carry_is_the_residents_to_type(gateway, region):
    """A password-level sign-in has a name but no address: the address is typed, not refused."""
    procedure = region.standard("oversized-garbage")
    address_field = next(f.name for f in procedure.fields if f.prefill == "address")
    prefill = (await gateway.get("/api/v1/procedures/oversized-garbage/prefill", headers=gateway.as_user("kitakata.resident-basic"))).json()
    assert address_field not in prefill["values"] and address_field in prefill["remaining_required"]
    detail = (await gateway.get("/api/v1/procedures/oversized-garbage")).json()
    answers = {f["name"]: f["choices"][0]["value"] for f in detail["fields"] if f["kind"] == "choice" and f["required"]}
    answers[address_field] = "福島県喜多方市字寺町4780"
    answers.update({f["name"]: "2026-12-10" for f in detail["fields"] if f["kind"] == "date" and f["required"]})
    answers.update({f["name"]: "0241-22-1111" for f in detail["fields"] if f["kind"] == "phone" and f["required"]})
    answers.update({f["name"]: "たんす" for f in detail["fields"] if f["kind"] == "text" and f["required"] and f.get("prefill") is None})
    answers.update({f["name"]: 1 for f in detail["fields"] if f["kind"] == "number" and f["required"]})
    response = await submit(gateway, "kitakata.resident-basic", {"code": "oversized-garbage", "answers": answers})
    assert response.status_code == 201, response.text
    assert response.json()["application"]["code"] == "oversized-garbage"


async def test_a_malformed_body_is_400_naming_the_key(gateway):
    response = await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy", "answers": "not an object"})
    assert response.status_code == 400 and "answers" in response.text


async def test_a_password_level_resident_must_step_up_to_submit(gateway):
    response = await submit(gateway, "kitakata.resident-basic", {"code": "juminhyo-copy"})
    assert response.status_code == 401 and 'acr_values="jpki"' in response.headers["www-authenticate"]


COUNTER_APPLICANT = {"name": "会津 太郎", "address": "福島県喜多方市字御清水東7244-2", "birthdate": "1941-02-03"}


async def test_counter_filing_joins_the_same_queue(gateway):
    online = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]
    counter = await submit(gateway, "kitakata.caseworker", {"code": "juminhyo-copy", "counter_applicant": COUNTER_APPLICANT})
    assert counter.status_code == 201, counter.text
    filed = counter.json()["application"]
    assert filed["channel"] == "counter" and filed["applicant_name"] == "会津 太郎"
    staff = gateway.as_user("kitakata.caseworker")
    queue = (await gateway.get(APPS, headers=staff)).json()["items"]
    ids = {a["id"] for a in queue}
    assert {online["id"], filed["id"]} <= ids
    detail = (await gateway.get(f"{APPS}/{filed['id']}", headers=staff)).json()
    me = (await gateway.get("/api/v1/me", headers=staff)).json()
    assert detail["filed_by"] == me["subject"]
    only_counter = (await gateway.get(APPS, params={"channel": "counter"}, headers=staff)).json()["items"]
    assert only_counter and all(a["channel"] == "counter" for a in only_counter)


async def counter_code(gateway, user: str = "kitakata.resident", host: str = "kitakata.localhost"):
    return await gateway.post("/api/v1/me/counter-code", headers={**gateway.as_user(user), "host": host})


async def test_a_counter_filing_reaches_the_resident_by_the_code_they_show(gateway):
    issued = await counter_code(gateway)
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    assert len(code) == 9 and code[4] == "-" and code.replace("-", "").isdigit()
    linked = {**COUNTER_APPLICANT, "link_code": code}
    filed = await submit(gateway, "kitakata.caseworker", {"code": "juminhyo-copy", "counter_applicant": linked})
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["application"]["id"]
    mine = (await gateway.get(APPS, headers=gateway.as_user("kitakata.resident"))).json()["items"]
    assert app_id in {a["id"] for a in mine}
    detail = (await gateway.get(f"{APPS}/{app_id}", headers=gateway.as_user("kitakata.resident"))).json()
    assert detail["history"][0]["comment"] == counter_codes.LINKED  # the link is in the hash-chained history
    # The same visit may file a second procedure with the same code; without one nothing is linked.
    again = await submit(gateway, "kitakata.caseworker", {"code": "juminhyo-copy", "counter_applicant": linked})
    unlinked = await submit(gateway, "kitakata.caseworker", {"code": "juminhyo-copy", "counter_applicant": COUNTER_APPLICANT})
    mine = {a["id"] for a in (await gateway.get(APPS, headers=gateway.as_user("kitakata.resident"))).json()["items"]}
    assert again.json()["application"]["id"] in mine and unlinked.json()["application"]["id"] not in mine


async def test_a_counter_filing_cannot_name_an_account_or_another_towns_code(gateway):
    """An account id named anyone in any town (a filing then showed in their portal and inbox)."""
    me = (await gateway.get("/api/v1/me", headers=gateway.as_user("kitakata.resident"))).json()
    typed = await submit(gateway, "kitakata.caseworker",
                         {"code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "subject": me["subject"]}})
    assert typed.status_code == 400 and "subject" in typed.text, typed.text
    code = (await counter_code(gateway)).json()["code"]
    staff = gateway.as_user("aizuwakamatsu.caseworker")
    before = (await gateway.get(APPS, headers={**staff, "host": "aizuwakamatsu.localhost"})).json()["items"]
    for wrong in (code, "0000-0000" if code != "0000-0000" else "1111-1111"):
        other = await submit(gateway, "aizuwakamatsu.caseworker", {
            "code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "link_code": wrong}}, host="aizuwakamatsu.localhost")
        assert other.status_code == 422, other.text
        assert other.json()["errors"][0]["field"] == "$.counter_applicant.link_code"
        assert "30" in other.json()["errors"][0]["message_ja"]
    after = (await gateway.get(APPS, headers={**staff, "host": "aizuwakamatsu.localhost"})).json()["items"]
    assert len(after) == len(before)  # nothing half-written
    bad = await submit(gateway, "kitakata.caseworker",
                       {"code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "link_code": "12ab-5678"}})
    assert bad.status_code == 400 and "link_code" in bad.text


async def test_only_a_resident_of_the_town_asks_it_for_a_counter_code(gateway):
    assert (await counter_code(gateway, "kitakata.caseworker")).status_code == 403
    assert (await counter_code(gateway, host="aizuwakamatsu.localhost")).status_code == 403


async def test_an_expired_counter_code_links_nothing(gateway):
    code = (await counter_code(gateway)).json()["code"]
    engine = create_engine(gateway.db_url)
    async with session_factory(engine)() as session:
        async with session.begin():
            await session.execute(text("UPDATE counter_codes SET expires_at = :t WHERE tenant = 'kitakata'"),
                                  {"t": datetime.now(UTC) - timedelta(seconds=1)})
    await engine.dispose()
    response = await submit(gateway, "kitakata.caseworker",
                            {"code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "link_code": code}})
    assert response.status_code == 422 and "link_code" in response.text


async def test_a_resident_cannot_file_at_the_counter(gateway):
    response = await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy", "counter_applicant": COUNTER_APPLICANT})
    assert response.status_code == 403


async def test_counter_filing_with_a_bad_birthdate_names_it(gateway):
    bad = {**COUNTER_APPLICANT, "birthdate": "1941-02-30"}
    response = await submit(gateway, "kitakata.caseworker", {"code": "juminhyo-copy", "counter_applicant": bad})
    assert response.status_code == 400 and "birthdate" in response.text


async def move(gateway, user: str, app_id: str, to: str, **extra):
    return await gateway.post(f"{APPS}/{app_id}/transitions", json={"to": to, **extra}, headers=gateway.as_user(user))


async def test_text_with_control_characters_is_refused_with_the_policys_words(gateway):
    """NUL and other controls were stored in comments and counter names while other fields refused them."""
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    refused = await move(gateway, "kitakata.caseworker", app_id, "in_review", comment="確認\x00しました")
    assert refused.status_code == 422 and refused.json()["errors"][0] == {
        "field": "$.comment", "message_ja": "制御文字は使えません。", "message_en": "Control characters are not allowed."}
    kept = await move(gateway, "kitakata.caseworker", app_id, "in_review", comment="確認しました。\n原本は不要です。")
    assert kept.status_code == 200, kept.text  # a comment may run over lines
    for name in ("会津\x00太郎", "会津\u202e太郎", "会津\n太郎"):
        bad = await submit(gateway, "kitakata.caseworker",
                           {"code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "name": name}})
        assert bad.status_code == 400, (name, bad.text)
        error = bad.json()["errors"][0]
        assert error["field"] == "$.counter_applicant.name" and "使えません" in error["message_ja"], error
        assert bad.json()["code"] == "validation"


async def test_a_counter_name_is_stored_in_one_spelling_and_a_future_birthdate_is_refused(gateway):
    decomposed = "か\u3099わ 太郎"  # が typed as か + combining voiced mark
    filed = await submit(gateway, "kitakata.caseworker",
                         {"code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "name": decomposed}})
    assert filed.status_code == 201 and filed.json()["application"]["applicant_name"] == "がわ 太郎"
    future = await submit(gateway, "kitakata.caseworker",
                          {"code": "juminhyo-copy", "counter_applicant": {**COUNTER_APPLICANT, "birthdate": "2999-01-01"}})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "$.counter_applicant.birthdate"


async def test_every_legal_transition_of_the_standard_workflow(gateway):
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    steps = [
        ("kitakata.caseworker", "in_review", {"comment": "確認します", "assign_to": "kitakata.caseworker"}),
        ("kitakata.caseworker", "needs_info", {"comment": "用途を教えてください"}),
        ("kitakata.resident", "in_review", {"answers": {"purpose": "bank"}}),
        ("kitakata.admin", "approved", {}),
        ("kitakata.caseworker", "issued", {}),
        ("kitakata.caseworker", "closed", {}),
    ]
    for user, to, extra in steps:
        response = await move(gateway, user, app_id, to, **extra)
        assert response.status_code == 200, (to, response.text)
        assert response.json()["summary"]["status"] == to
    history = response.json()["history"]
    assert [h["to_status"] for h in history] == ["received", "in_review", "needs_info", "in_review", "approved", "issued", "closed"]
    assert history[1]["comment"] == "確認します" and response.json()["summary"]["assigned_to"] == "kitakata.caseworker"
    assert response.json()["answers"]["purpose"] == "bank"
    assert response.json()["allowed_transitions"] == []


async def test_a_reply_to_a_request_for_information_keeps_or_replaces_the_filed_file(gateway):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 50

    def attached(content: bytes) -> dict[str, str]:
        return {"filename": "証明書.png", "media_type": "image/png", "content_base64": base64.b64encode(content).decode()}

    answers = {"owner_postal_code": "966-0000", "phone": "0241-22-1111", "dog_name": "ポチ", "breed": "柴犬",
               "coat_colour": "赤", "dog_sex": "male", "vaccination_date": "2026-04-10", "vaccination_certificate": attached(png)}
    created = await submit(gateway, "kitakata.resident", {"code": "dog-registration", "answers": answers})
    assert created.status_code == 201, created.text
    app_id = created.json()["application"]["id"]
    assert (await move(gateway, "kitakata.caseworker", app_id, "in_review")).status_code == 200
    assert (await move(gateway, "kitakata.caseworker", app_id, "needs_info", comment="毛色を確認させてください")).status_code == 200
    # The reply corrects another answer: the filed certificate stands as it is.
    reply = await move(gateway, "kitakata.resident", app_id, "in_review", answers={"coat_colour": "白"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["answers"]["vaccination_certificate"] == hashlib.sha256(png).hexdigest()
    assert (await move(gateway, "kitakata.caseworker", app_id, "needs_info", comment="証明書が読めません")).status_code == 200
    bad = await move(gateway, "kitakata.resident", app_id, "in_review", answers={"vaccination_certificate": attached(b"GIF89a")})
    assert bad.status_code == 422 and "$.answers.vaccination_certificate" in bad.text
    clearer = png + b"\x01" * 10
    replaced = await move(gateway, "kitakata.resident", app_id, "in_review", answers={"vaccination_certificate": attached(clearer)})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["answers"]["vaccination_certificate"] == hashlib.sha256(clearer).hexdigest()
    engine = create_engine(gateway.db_url)
    async with session_factory(engine)() as session:
        stored = (await session.execute(text("SELECT sha256 FROM attachments WHERE application_id = :a"), {"a": app_id})).scalars().all()
    await engine.dispose()
    assert stored == [hashlib.sha256(clearer).hexdigest()]


async def test_rejection_and_withdrawal(gateway):
    first = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    assert (await move(gateway, "kitakata.caseworker", first, "rejected", comment="重複")).status_code == 200
    assert (await move(gateway, "kitakata.caseworker", first, "closed")).status_code == 200
    second = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    assert (await move(gateway, "kitakata.caseworker", second, "in_review")).status_code == 200
    assert (await move(gateway, "kitakata.resident", second, "withdrawn")).status_code == 200


@pytest.mark.parametrize(
    ("user", "to", "allowed"),
    [
        ("kitakata.caseworker", "approved", "in_review, rejected"),
        ("kitakata.caseworker", "closed", "in_review, rejected"),
        ("kitakata.resident", "in_review", "withdrawn"),
        ("kitakata.resident", "approved", "withdrawn"),
    ],
)
async def test_an_illegal_transition_is_409_naming_the_allowed_ones(gateway, user, to, allowed):
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    response = await move(gateway, user, app_id, to)
    assert response.status_code == 409
    assert response.json()["detail"].endswith(allowed)


async def test_an_unknown_status_is_400(gateway):
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    assert (await move(gateway, "kitakata.caseworker", app_id, "teleported")).status_code == 400


async def test_the_audit_chain_detects_a_direct_sql_edit(gateway):
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    assert (await move(gateway, "kitakata.caseworker", app_id, "in_review", comment="ok")).status_code == 200
    engine = create_engine(gateway.db_url)
    async with session_factory(engine)() as session:
        for _ in range(100):  # the sealer links new changes within moments
            report = await verify(session, "kitakata")
            await session.rollback()
            if report.unsealed == 0:
                break
            await asyncio.sleep(0.05)
        assert report.intact and report.unsealed == 0
        seq = (await session.execute(text(
            "SELECT seq FROM status_changes WHERE application_id = :a AND to_status = 'in_review'"), {"a": app_id})).scalar_one()
        await session.execute(text("UPDATE status_changes SET comment = 'edited' WHERE tenant = 'kitakata' AND seq = :s"), {"s": seq})
        await session.commit()
        report = await verify(session, "kitakata")
        await session.execute(text("UPDATE status_changes SET comment = 'ok' WHERE tenant = 'kitakata' AND seq = :s"), {"s": seq})
        await session.commit()
        assert (await verify(session, "kitakata")).intact
    await engine.dispose()
    assert report.broken_at == seq and "content" in report.reason


@pytest.mark.parametrize("before_read", [2, 3], ids=["before-the-links", "after-the-links"])
async def test_the_audit_chain_check_ignores_links_sealed_while_it_reads(procedures_db, before_read):
    """A sealer committing between the check's reads (head, links, head again) is no break."""
    town = f"chain-{uuid.uuid4().hex[:8]}"
    engine, other_engine = create_engine(procedures_db), create_engine(procedures_db)
    sessions = session_factory(engine)

    def change(n: int) -> StatusChangeRow:
        return StatusChangeRow(tenant=town, application_id=str(uuid.uuid4()), from_status=None, to_status=Status.RECEIVED,
                               actor="r", actor_role="resident", comment=str(n), at=datetime.now(UTC))

    async def seal_more() -> None:
        async with session_factory(other_engine)() as other:
            other.add_all([change(n) for n in range(3)])
            await other.commit()
            assert await seal(other, town) == 3

    async with sessions() as session:
        session.add_all([change(n) for n in range(2)])
        await session.commit()
        assert await seal(session, town) == 2
        reads = []

        def seal_between_reads(conn, cursor, statement, parameters, context, executemany):
            reads.append(statement)
            if len(reads) == before_read:
                await_only(seal_more())

        listener = (engine.sync_engine, "before_cursor_execute", seal_between_reads)
        event.listen(*listener)
        try:
            report = await verify(session, town)
        finally:
            event.remove(*listener)
        # The head moved while the links were read: the check read them again, all five.
        assert len(reads) > 3 and report.intact and report.links == 5, report

        # A head deleted, or set back to an earlier link, leaves links it does not cover: a break.
        await session.execute(text("UPDATE chain_heads SET seq = 3, hash = (SELECT hash FROM status_changes "
                                   "WHERE tenant = :t AND seq = 3) WHERE tenant = :t"), {"t": town})
        await session.commit()
        set_back = await verify(session, town)
        assert set_back.broken_at == 6 and "head" in set_back.reason, set_back
        await session.execute(text("DELETE FROM chain_heads WHERE tenant = :t"), {"t": town})
        await session.commit()
        deleted = await verify(session, town)
        assert deleted.broken_at == 6 and "head" in deleted.reason, deleted
    await engine.dispose()
    await other_engine.dispose()


async def test_a_receipt_verifies_and_one_changed_byte_does_not(gateway):
    created = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()
    receipt = created["receipt"]
    check = (await gateway.post("/api/v1/verify", json={"token": receipt}, headers={"host": "bandai.localhost"})).json()
    assert check["valid"] is True and check["tenant"] == "kitakata" and check["town_name_ja"] == "喜多方市"
    assert check["claims"]["sub"] == created["application"]["id"] and check["issued_at"]
    head, payload, signature = receipt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["applicant_name"] = claims["applicant_name"] + "x"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{head}.{forged_payload}.{signature}", f"{head}.{payload}.{flipped}", "garbage"):
        result = (await gateway.post("/api/v1/verify", json={"token": forged})).json()
        assert result["valid"] is False and result["reason"]
    kid = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]
    jwks = (await gateway.get("/api/v1/tenant/jwks.json")).json()
    assert kid in {k["kid"] for k in jwks["keys"]} and all("d" not in k for k in jwks["keys"])
    stored = (await gateway.get(f"{APPS}/{created['application']['id']}/receipt", headers=gateway.as_user("kitakata.resident")))
    assert stored.json()["receipt"] == receipt


async def test_verify_with_a_bad_body_is_400(gateway):
    assert (await gateway.post("/api/v1/verify", json={"tok": "x"})).status_code == 400


@pytest.mark.parametrize("who", [None, "kitakata.resident", "kitakata.caseworker"], ids=["anonymous", "resident", "staff"])
async def test_a_body_nested_a_thousand_deep_is_a_400_problem_not_a_server_error(gateway, who):
    """2 KB of nested arrays once exhausted the decoder's stack (500 and a traceback per request)."""
    deep = b"[" * 1000 + b"]" * 1000
    headers = {**(gateway.as_user(who) if who else {}), **key(), "content-type": "application/json"}
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    for path, body in [
        ("/api/v1/verify", deep),
        (APPS, b'{"code": "juminhyo-copy", "answers": {"x": ' + deep + b"}}"),
        (f"{APPS}/{app_id}/transitions", b'{"to": ' + deep + b"}"),
        ("/api/v1/verify", b'{"token": ' + b"[" * 100_000),  # unbalanced: the decoder's own recursion, caught
    ]:
        response = await gateway.post(path, content=body, headers=headers)
        assert response.status_code == 400, (path, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "bad_request" and problem["errors"][0]["field"] == "$", problem
        assert "32" in problem["errors"][0]["message_en"]
    # Deep but within the limit is decoded as usual (here: a validation problem of the field's type).
    shallow = b"[" * 30 + b"]" * 30
    response = await gateway.post("/api/v1/verify", content=b'{"token": ' + shallow + b"}", headers=headers)
    assert response.status_code == 400 and "nests" not in response.text, response.text


async def test_events_reach_jetstream_with_their_ids(gateway, nats_url):
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.subscribe("aizu.evt.kitakata.application.>", ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.NEW)
    try:
        app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
        assert (await move(gateway, "kitakata.caseworker", app_id, "in_review")).status_code == 200
        seen = []
        while len(seen) < 2:
            msg = await sub.next_msg(timeout=5)
            event = json.loads(msg.data)
            if event["application_id"] == app_id:
                seen.append((msg.subject, event["type"], msg.headers["Nats-Msg-Id"] == event["event_id"]))
    finally:
        await nc.close()
    assert seen == [
        ("aizu.evt.kitakata.application.submitted", "application.submitted", True),
        ("aizu.evt.kitakata.application.status_changed", "application.status_changed", True),
    ]


async def test_a_counter_visit_recorded_through_the_api_reaches_the_event(gateway, nats_url):
    """The HTTP body had lost ``counter_visit``: no API client could record a visit the figures count."""
    nc = await nats.connect(nats_url)
    sub = await nc.jetstream().subscribe("aizu.evt.kitakata.application.status_changed", ordered_consumer=True,
                                         deliver_policy=nats.js.api.DeliverPolicy.NEW)
    try:
        app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
        assert (await move(gateway, "kitakata.caseworker", app_id, "in_review", counter_visit=True)).status_code == 200
        while (event := json.loads((await sub.next_msg(timeout=5)).data))["application_id"] != app_id:
            pass
    finally:
        await nc.close()
    assert event["counter_visit"] is True


async def test_the_history_names_people_as_they_were_and_the_chain_covers_the_names(gateway):
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy"})).json()["application"]["id"]
    assert (await move(gateway, "kitakata.caseworker", app_id, "in_review")).status_code == 200
    names = {}
    for user in ("kitakata.resident", "kitakata.caseworker"):
        names[user] = (await gateway.get("/api/v1/me", headers=gateway.as_user(user))).json()["identity"]["name"]
    history = (await gateway.get(f"{APPS}/{app_id}", headers=gateway.as_user("kitakata.caseworker"))).json()["history"]
    assert [h["actor_name"] for h in history] == [names["kitakata.resident"], names["kitakata.caseworker"]]
    engine = create_engine(gateway.db_url)
    async with session_factory(engine)() as session:
        for _ in range(100):
            report = await verify(session, "kitakata")
            await session.rollback()
            if report.unsealed == 0:
                break
            await asyncio.sleep(0.05)
        assert report.intact
        await session.execute(text("UPDATE status_changes SET actor_name = '別人' WHERE application_id = :a"), {"a": app_id})
        await session.commit()
        assert not (await verify(session, "kitakata")).intact  # a name edited afterwards breaks the chain
        await session.execute(text("UPDATE status_changes SET actor_name = :n WHERE application_id = :a AND to_status = 'received'"),
                              {"n": names["kitakata.resident"], "a": app_id})
        await session.execute(text("UPDATE status_changes SET actor_name = :n WHERE application_id = :a AND to_status = 'in_review'"),
                              {"n": names["kitakata.caseworker"], "a": app_id})
        await session.commit()
        assert (await verify(session, "kitakata")).intact
    await engine.dispose()


async def test_history_fields_come_from_earlier_applications(gateway, region):
    dog = region.standard("dog-registration")
    history_fields = [f.name for f in dog.fields if f.prefill == "history"]
    assert "phone" in history_fields
    user = "kitakata.resident-basic"
    before = (await gateway.get("/api/v1/procedures/dog-registration/prefill", headers=gateway.as_user(user))).json()
    assert "phone" not in before["values"] and "phone" in before["remaining_required"]
    road = (await gateway.get("/api/v1/procedures/road-damage")).json()
    answers = {f["name"]: f["choices"][0]["value"] for f in road["fields"] if f["kind"] == "choice" and f["required"]}
    answers.update(description="穴があります", phone="0241-22-1111")
    first = await submit(gateway, user, {"code": "road-damage", "answers": answers})
    assert first.status_code == 201, first.text
    after = (await gateway.get("/api/v1/procedures/dog-registration/prefill", headers=gateway.as_user(user))).json()
    assert after["values"]["phone"] == "0241221111" and after["sources"]["phone"] == "history"
    assert "phone" not in after["remaining_required"]


async def test_issuing_produces_a_signed_printable_document(gateway):
    app_id = (await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy", "answers": {"copies": "2"}})).json()["application"]["id"]
    assert (await gateway.get(f"{APPS}/{app_id}/document", headers=gateway.as_user("kitakata.resident"))).status_code == 404
    for to in ("in_review", "approved", "issued"):
        assert (await move(gateway, "kitakata.caseworker", app_id, to)).status_code == 200
    issued = (await gateway.get(f"{APPS}/{app_id}/document", headers=gateway.as_user("kitakata.resident"))).json()
    check = (await gateway.post("/api/v1/verify", json={"token": issued["document"]})).json()
    assert check["valid"] and check["kind"] == "document" and check["tenant"] == "kitakata"
    assert "2" in check["claims"]["content"].values()
    page = await gateway.get(f"{APPS}/{app_id}/document.html", headers=gateway.as_user("kitakata.resident"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="ja">' in page.text and "<svg" in page.text and "住民票" in page.text
    # The issued document had no CSP, nosniff or frame-ancestors; now the gateway's default for HTML.
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"] and "script-src" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["content-type"].count("charset") == 1
    other = await gateway.get(f"{APPS}/{app_id}/document.html", headers=gateway.as_user("aizuwakamatsu.resident"))
    assert other.status_code == 404 and "<svg" not in other.text


async def test_a_report_keeps_its_location_for_the_staff_map(gateway):
    road = (await gateway.get("/api/v1/procedures/road-damage")).json()
    answers = {f["name"]: f["choices"][0]["value"] for f in road["fields"] if f["kind"] == "choice" and f["required"]}
    answers["description"] = "路面に穴"
    where = {"lat": 37.6508, "long": 139.8747, "address_string": "喜多方市役所前"}
    created = await submit(gateway, "kitakata.resident", {"code": "road-damage", "answers": answers, "location": where})
    assert created.status_code == 201, created.text
    app_id = created.json()["application"]["id"]
    staff = (await gateway.get(f"{APPS}/{app_id}", headers=gateway.as_user("kitakata.caseworker"))).json()
    assert staff["summary"]["location"] == where
    bad = await submit(gateway, "kitakata.resident", {"code": "road-damage", "answers": answers, "location": {"lat": 95, "long": 0}})
    assert bad.status_code == 400 and "lat" in bad.text
    nowhere = await submit(gateway, "kitakata.resident", {"code": "juminhyo-copy", "location": where})
    assert nowhere.status_code == 422 and "$.location" in nowhere.text
