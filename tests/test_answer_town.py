"""Answering the town: a caseworker asks for more (needs_info, with their question), the resident
answers on their application's page (a message, a new file), and the application is back in
review with the answer in its history. The question also reaches the inbox and the mail.

Real nats-server, services, SQLite, the gateway, and the SMTP sink as the town's relay.
"""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import default as email_policy

import pytest

from contracts.errors import ServiceFailure
from contracts.notifications import PutTemplate
from contracts.tenants import Region
from services.notifications.channels.smtp_sink import MailSink
from services.notifications.inbox import templates
from services.procedures import chain
from services.runtime.database import create_engine, session_factory
from tests.conftest import (
    GatewayClient,
    eventually,
    gateway_client,
    mail_sink,
    running_notifications,
    running_portal,
    running_procedures,
    smtp_to,
)
from tests.pages import csrf_of, hidden, main_of

sqlite = pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)

RESIDENT = "kitakata.resident"
CASEWORKER = "kitakata.caseworker"
APPS = "/api/v1/applications"
QUESTION = "本籍地の記載が必要かどうか、もう一度お知らせください。\n必要なら、使う目的も書いてください。"
#: The smallest PNG a browser would send: its signature is what the service checks.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
DOG = {"owner_postal_code": "966-0000", "phone": "0241-22-1111", "dog_name": "ポチ", "breed": "柴犬",
       "coat_colour": "赤", "dog_sex": "male", "vaccination_date": "2026-04-10"}


@pytest.fixture
async def site(
    nats_url: str, procedures_db: str, notifications_db: str, portal_db: str, region: Region, tmp_path
) -> AsyncIterator[GatewayClient]:
    """The portal's site, its notifications mailing to the sink (``site.sink``)."""
    async with (
        mail_sink(tmp_path / "mail") as sink,
        running_procedures(nats_url, procedures_db),
        running_notifications(nats_url, notifications_db, smtp_to(sink)),
        running_portal(nats_url, portal_db, region),
        gateway_client(region, nats_url, host="kitakata.localhost") as client,
    ):
        client.sink = sink  # type: ignore[attr-defined]
        yield client


def at(town: str) -> dict[str, str]:
    return {"host": f"{town}.localhost"}


async def file(site: GatewayClient, code: str = "juminhyo-copy", answers: dict | None = None,
               user: str = RESIDENT, town: str = "kitakata") -> str:
    """An application filed through the API by ``user``; its id."""
    sent = await site.post(APPS, json={"code": code, "answers": answers or {}},
                           headers={**site.as_user(user), **at(town), "idempotency-key": str(uuid.uuid4())})
    assert sent.status_code == 201, sent.text
    return sent.json()["application"]["id"]


async def move(site: GatewayClient, app_id: str, to: str, comment: str = "", user: str = CASEWORKER,
               town: str = "kitakata") -> dict:
    moved = await site.post(f"{APPS}/{app_id}/transitions", json={"to": to, "comment": comment},
                            headers={**site.as_user(user), **at(town)})
    assert moved.status_code == 200, moved.text
    return moved.json()


async def asked(site: GatewayClient, **filing) -> str:
    """An application the caseworker has asked about (needs_info, with :data:`QUESTION`)."""
    app_id = await file(site, **filing)
    town = filing.get("town", "kitakata")
    await move(site, app_id, "in_review", town=town, user=f"{town}.caseworker")
    await move(site, app_id, "needs_info", QUESTION, town=town, user=f"{town}.caseworker")
    return app_id


async def detail(site: GatewayClient, app_id: str, user: str = RESIDENT, town: str = "kitakata") -> dict:
    found = await site.get(f"{APPS}/{app_id}", headers={**site.as_user(user), **at(town)})
    assert found.status_code == 200, found.text
    return found.json()


async def open_form(site: GatewayClient, app_id: str, user: str = RESIDENT):
    page = await site.get(f"/applications/{app_id}/answer", headers=site.as_user(user))
    assert page.status_code == 200, page.text[:500]
    site.cookies.update(page.cookies)
    return page


async def send(site: GatewayClient, app_id: str, page, data: dict, files: dict | None = None, user: str = RESIDENT):
    site.cookies.update(page.cookies)
    return await site.post(f"/applications/{app_id}/answer", data={"_csrf_token": csrf_of(page.text), **data},
                           files=files, headers=site.as_user(user))


@sqlite
async def test_the_question_is_shown_and_an_answer_sends_the_application_back_to_review(
    site: GatewayClient, procedures_db: str
) -> None:
    app_id = await asked(site)
    mine = await site.get(f"/applications/{app_id}", headers=site.as_user(RESIDENT))
    body = main_of(mine.text)
    assert "追加の情報をお願いします" in body
    assert "本籍地の記載が必要かどうか、もう一度お知らせください。\n必要なら" in body
    assert f'<a class="button" href="/applications/{app_id}/answer">回答する</a>' in body
    # The box comes before the facts and the history: the first thing the resident reads.
    assert body.index('id="asked"') < body.index('class="facts"')

    page = await open_form(site, app_id)
    form = main_of(page.text)
    assert "<h1>担当者からの質問に回答する</h1>" in form and "必要なら、使う目的も書いてください。" in form
    assert '<textarea id="field-comment" name="comment" rows="6" maxlength="2000" required aria-required="true"' in form
    assert 'aria-describedby="hint-comment"' in form
    assert 'enctype="multipart/form-data"' not in form  # 住民票の写し takes no file
    # Identity fields come from the card: never offered for correction.
    assert 'name="applicant_name"' not in form and 'name="copies"' in form

    answer = "本籍地は不要です。\r\n勤務先に出すためです。"
    sent = await send(site, app_id, page, {"comment": answer})
    assert sent.status_code == 303, main_of(sent.text)
    assert sent.headers["location"] == f"/applications/{app_id}?answered=1"
    shown = await site.get(sent.headers["location"], headers=site.as_user(RESIDENT))
    body = main_of(shown.text)
    assert "回答を送りました" in body and "審査中" in body and 'id="asked"' not in body
    assert "本籍地は不要です。\n勤務先に出すためです。" in body  # in the history

    history = (await detail(site, app_id))["history"]
    last = history[-1]
    assert (last["from_status"], last["to_status"], last["actor_role"]) == ("needs_info", "in_review", "resident")
    assert last["comment"] == "本籍地は不要です。\n勤務先に出すためです。"
    # Sealed into the town's hash chain like every other change.
    sealed = await eventually(lambda: _sealed(site, app_id))
    assert [s["seq"] is not None for s in sealed] == [True] * len(sealed)
    engine = create_engine(procedures_db)
    try:
        async with session_factory(engine)() as session:
            assert (await chain.verify(session, "kitakata")).intact
    finally:
        await engine.dispose()
    # Nothing more to answer: the page sends the resident back to the application.
    again = await site.get(f"/applications/{app_id}/answer", headers=site.as_user(RESIDENT))
    assert again.status_code == 303 and again.headers["location"] == f"/applications/{app_id}"


async def _sealed(site: GatewayClient, app_id: str) -> list[dict] | None:
    history = (await detail(site, app_id))["history"]
    return history if all(s["seq"] is not None for s in history) else None


@sqlite
async def test_an_empty_or_refused_answer_is_named_on_its_field_and_nothing_moves(site: GatewayClient) -> None:
    app_id = await asked(site)
    page = await open_form(site, app_id)
    for data, said in (
        ({}, "回答を書いてください。"),
        ({"comment": "   "}, "回答を書いてください。"),
        ({"comment": "あ" * 2001}, "回答は2000文字までです（いまは2001文字）。"),
        ({"comment": "答え\x00です"}, "制御文字は使えません。"),
    ):
        refused = await send(site, app_id, page, data)
        assert refused.status_code == 422, (data, refused.text[:300])
        body = main_of(refused.text)
        assert 'href="#field-comment"' in body and f'<span class="error" id="error-comment">{said}</span>' in body
        assert 'aria-describedby="hint-comment error-comment" aria-invalid="true"' in body
        assert "必要なら、使う目的も書いてください。" in body  # the question is still there
    assert (await detail(site, app_id))["summary"]["status"] == "needs_info"
    # A corrected answer the service refuses is named on its field too, and nothing moves.
    bad = await send(site, app_id, page, {"comment": "通数を直します", "copies": "99"})
    assert bad.status_code == 422 and 'id="error-copies"' in bad.text
    assert "<details style=\"margin-top:1rem\" open>" in main_of(bad.text)
    assert (await detail(site, app_id))["summary"]["status"] == "needs_info"
    # In English, in English.
    site.cookies.update({"aizu_lang": "en"})
    english = await send(site, app_id, page, {})
    assert english.status_code == 422 and "Please write your answer." in english.text
    site.cookies.delete("aizu_lang")


@sqlite
async def test_a_new_file_is_kept_across_an_error_and_replaces_the_filed_one(site: GatewayClient) -> None:
    first = {"filename": "古い証明書.png", "media_type": "image/png", "content_base64": base64.b64encode(PNG).decode()}
    app_id = await asked(site, code="dog-registration", answers={**DOG, "vaccination_certificate": first})
    page = await open_form(site, app_id)
    form = main_of(page.text)
    assert 'enctype="multipart/form-data"' in form and 'type="file" id="field-vaccination_certificate"' in form
    assert "提出済み：古い証明書.png" in form
    # Optional here: the filed file stands unless another is chosen.
    assert "required" not in form.split('id="field-vaccination_certificate"')[1].split(">")[0]

    newer = PNG + b"\x01" * 10
    no_message = await send(site, app_id, page, {}, {"vaccination_certificate": ("新しい証明書.png", newer, "image/png")})
    assert no_message.status_code == 422 and 'id="error-comment"' in no_message.text
    assert "添付済み：新しい証明書.png" in main_of(no_message.text)
    kept = {"vaccination_certificate__upload": hidden(no_message.text, "vaccination_certificate__upload"),
            "vaccination_certificate__filename": hidden(no_message.text, "vaccination_certificate__filename")}
    sent = await send(site, app_id, no_message, {"comment": "新しい証明書を添付しました。", **kept},
                      {"vaccination_certificate": ("", b"", "application/octet-stream")})
    assert sent.status_code == 303, main_of(sent.text)
    now = await detail(site, app_id)
    assert now["summary"]["status"] == "in_review"
    assert now["answers"]["vaccination_certificate"] == hashlib.sha256(newer).hexdigest()
    assert now["answers"]["dog_name"] == "ポチ"  # what was not changed stays
    assert [(f["field"], f["filename"]) for f in now["attachments"]] == [("vaccination_certificate", "新しい証明書.png")]
    opened = await site.get(f"/applications/{app_id}/files/vaccination_certificate", headers=site.as_user(RESIDENT))
    assert opened.status_code == 200 and opened.content == newer


@sqlite
async def test_only_the_applicant_in_their_own_town_can_answer(site: GatewayClient) -> None:
    app_id = await asked(site)
    path = f"/applications/{app_id}/answer"
    home = await site.get("/", headers=site.as_user("kitakata.resident-basic"))
    for user, town, expected in (
        ("kitakata.resident-basic", "kitakata", 404),  # another resident: reported as absent
        ("aizuwakamatsu.resident", "kitakata", 404),  # another town's resident at this town's host
        ("aizuwakamatsu.resident", "aizuwakamatsu", 404),  # at their own town's host: not there
        (CASEWORKER, "kitakata", 403),  # staff use the console
    ):
        page = await site.get(path, headers={**site.as_user(user), **at(town)})
        assert page.status_code == expected, (user, town, page.status_code)
        assert "必要なら、使う目的も書いてください。" not in page.text
        site.cookies.update(home.cookies)
        posted = await site.post(path, data={"_csrf_token": csrf_of(home.text), "comment": "横から答えます"},
                                 headers={**site.as_user(user), **at(town)})
        assert posted.status_code == expected, (user, town, posted.status_code)
    signed_out = await site.get(path)
    assert signed_out.status_code == 401
    after = await detail(site, app_id)
    assert after["summary"]["status"] == "needs_info" and "横から答えます" not in str(after["history"])


def _mails(sink: MailSink, address: str) -> list[EmailMessage]:
    found = []
    for path in sink.messages():
        parsed = email.message_from_bytes(path.read_bytes(), policy=email_policy)
        if parsed["To"] == address:
            found.append(parsed)
    return found


@sqlite
async def test_the_caseworkers_question_is_in_the_inbox_and_the_mail_but_not_the_residents_own_words(
    site: GatewayClient,
) -> None:
    town, user = "kaneyama", "kaneyama.resident"
    me = {**site.as_user(user), **at(town)}
    address = f"resident-{uuid.uuid4().hex[:8]}@kaneyama.example"
    saved = await site.put("/api/v1/preferences", json={"channels": ["email"], "email": address}, headers=me)
    assert saved.status_code == 200, saved.text
    try:
        app_id = await asked(site, user=user, town=town)

        async def messages(count: int) -> list[dict] | None:
            listing = await site.get("/api/v1/inbox", headers=me)
            mine = [m for m in listing.json()["items"] if m["application_id"] == app_id]
            return mine if len(mine) >= count else None

        newest = (await eventually(lambda: messages(3)))[0]
        assert newest["kind"] == "application.status_changed"
        assert "担当者からのメッセージ:\n" + QUESTION in newest["body_ja"]
        assert "「回答する」" in newest["body_ja"]
        assert "The caseworker's message:\n" + QUESTION in newest["body_en"]
        mails = await eventually(lambda: asyncio.sleep(0, [m for m in _mails(site.sink, address)  # type: ignore[attr-defined]
                                                            if QUESTION.splitlines()[0] in m.get_content()]))
        assert len(mails) == 1 and "追加情報の依頼" in mails[0]["Subject"]

        # The resident answers; the message of their own move does not send their words back.
        await move(site, app_id, "in_review", "私の回答です。", user=user, town=town)
        answered = (await eventually(lambda: messages(4)))[0]
        assert "私の回答です" not in answered["body_ja"] + answered["body_en"]
        assert "担当者からのメッセージ" not in answered["body_ja"]

        # A refusal says why.
        await move(site, app_id, "rejected", "添付の書類では確認できませんでした。", user=f"{town}.caseworker", town=town)
        refused = (await eventually(lambda: messages(5)))[0]
        assert "担当者からのメッセージ:\n添付の書類では確認できませんでした。" in refused["body_ja"]
        assert "「審査中」から「不承認」" in refused["body_ja"]
    finally:
        await site.put("/api/v1/preferences", json={"channels": ["inbox"]}, headers=me)


def test_the_regional_defaults_and_a_towns_own_template_may_use_the_message() -> None:
    for status, texts in templates.STATUS_DEFAULTS.items():
        templates.check(PutTemplate(kind=templates.STATUS_CHANGED, **msgspec_fields(texts)))  # raises if refused
        assert "{message}" in texts.body_ja and "{message}" in texts.body_en, status
    # Without a message, a status change keeps the general default (no empty "message:" line).
    assert templates.default_for(templates.STATUS_CHANGED, "needs_info", "") == templates.DEFAULTS[templates.STATUS_CHANGED]
    assert templates.default_for(templates.STATUS_CHANGED, "approved", "窓口へどうぞ") == templates.DEFAULTS[templates.STATUS_CHANGED]
    assert templates.default_for(templates.SUBMITTED, "needs_info", "x") == templates.DEFAULTS[templates.SUBMITTED]
    own = PutTemplate(kind=templates.STATUS_CHANGED, title_ja="{status}", body_ja="{procedure_name} {status}\n{message}",
                      title_en="{status}", body_en="{procedure_name} {status}\n{message}")
    templates.check(own)
    # A submission has no caseworker's words: the placeholder is refused there, and named.
    with pytest.raises(ServiceFailure) as refused:
        templates.check(PutTemplate(kind=templates.SUBMITTED, title_ja="t", body_ja="{procedure_name}{application_id}{message}",
                                    title_en="t", body_en="{procedure_name}{application_id}"))
    assert "unknown placeholder {message}" in (refused.value.envelope.detail or "")
    # A message is put in as it is written: braces in it are text, not placeholders.
    assert templates.render("{message}", {"message": "{status} {{x}}"}) == "{status} {{x}}"


def msgspec_fields(texts: templates.Texts) -> dict[str, str]:
    return {name: getattr(texts, name) for name in ("title_ja", "body_ja", "title_en", "body_en")}
