"""Files attached in the portal's forms: the gateway puts them into the uploads bucket (JetStream
object store), the procedures service reads them back when the application is filed. Real
nats-server, services and SQLite, multipart posts as a browser sends them."""

from __future__ import annotations

import hashlib
import re
import uuid

import nats
import pytest

from contracts import uploads
from tests.conftest import GatewayClient
from tests.pages import confirmed, csrf_of, hidden, main_of

pytestmark = pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)

RESIDENT = "kitakata.resident"
DOG = "/procedures/dog-registration"
#: The smallest PNG a browser would send: its signature is what the service checks.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
ANSWERS = {"owner_postal_code": "966-0000", "phone": "0241-22-1111", "dog_name": "ポチ", "breed": "柴犬",
           "coat_colour": "赤", "dog_sex": "male", "vaccination_date": "2026-04-10"}


async def _form(site: GatewayClient, user: str = RESIDENT, path: str = DOG, host: str = "kitakata.localhost"):
    page = await site.get(path, headers={**site.as_user(user), "host": host})
    assert page.status_code == 200, page.text[:300]
    fields = {"_csrf_token": csrf_of(page.text), "idempotency_key": hidden(page.text, "idempotency_key")}
    return page, fields


async def _post(site: GatewayClient, page, data: dict, files: dict | None = None, user: str = RESIDENT,
                path: str = DOG, host: str = "kitakata.localhost"):
    site.cookies.update(page.cookies)
    return await site.post(path, data=data, files=files or {"vaccination_certificate": ("", b"", "application/octet-stream")},
                           headers={**site.as_user(user), "host": host})


async def _send(site: GatewayClient, page, data: dict, files: dict | None = None, user: str = RESIDENT):
    """The form posted, then 「この内容で申請する」 pressed on the check-your-answers page."""
    check = await _post(site, page, data, files, user)
    if check.status_code != 200:
        return check
    return await site.post(DOG, data=confirmed(check.text), headers={**site.as_user(user), "host": "kitakata.localhost"})


async def test_a_resident_attaches_a_certificate_and_it_is_filed_with_the_application(site: GatewayClient) -> None:
    page, fields = await _form(site)
    body = main_of(page.text)
    assert 'enctype="multipart/form-data"' in body and 'type="file" id="field-vaccination_certificate"' in body
    assert 'accept="image/jpeg,image/png,application/pdf"' in body and "JPEG/PNG/PDF のファイル（5 MB まで）" in body
    sent = await _send(site, page, {**fields, **ANSWERS}, {"vaccination_certificate": ("接種証明.png", PNG, "image/png")})
    assert sent.status_code == 303, main_of(sent.text)
    app_id = re.fullmatch(r"/applications/([0-9a-f-]{36})\?received=1", sent.headers["location"]).group(1)
    staff = (await site.get(f"/api/v1/applications/{app_id}", headers=site.as_user("kitakata.caseworker"))).json()
    assert staff["answers"]["vaccination_certificate"] == hashlib.sha256(PNG).hexdigest()
    # The same form sent again (a double tap uploads the file a second time) is the same application.
    again = await _send(site, page, {**fields, **ANSWERS}, {"vaccination_certificate": ("接種証明.png", PNG, "image/png")})
    assert again.status_code == 303 and again.headers["location"] == sent.headers["location"]
    # The caseworker sees the file by its name and opens it; so does the resident on their page.
    staff_url = f"/staff/applications/{app_id}/files/vaccination_certificate"
    own_url = f"/applications/{app_id}/files/vaccination_certificate"
    detail = await site.get(f"/staff/applications/{app_id}", headers=site.as_user("kitakata.caseworker"))
    assert f'<a href="{staff_url}">接種証明.png</a>' in main_of(detail.text)
    mine = await site.get(f"/applications/{app_id}", headers=site.as_user(RESIDENT))
    assert f'<a href="{own_url}">接種証明.png</a>' in main_of(mine.text) and "PNG、1 KB" in main_of(mine.text)
    api_url = f"/api/v1/applications/{app_id}/attachments/vaccination_certificate"
    for user, file_url in (("kitakata.caseworker", staff_url), (RESIDENT, own_url), ("kitakata.caseworker", api_url), (RESIDENT, api_url)):
        opened = await site.get(file_url, headers=site.as_user(user))
        assert opened.status_code == 200 and opened.content == PNG, (user, opened.status_code)
        assert opened.headers["content-type"] == "image/png" and opened.headers["x-content-type-options"] == "nosniff"
        assert opened.headers["content-disposition"] == (
            "inline; filename=\"____.png\"; filename*=UTF-8''%E6%8E%A5%E7%A8%AE%E8%A8%BC%E6%98%8E.png")
        assert "sandbox" in opened.headers["content-security-policy"]


async def test_a_filed_file_is_only_for_its_applicant_and_the_towns_staff(site: GatewayClient) -> None:
    page, fields = await _form(site)
    sent = await _send(site, page, {**fields, **ANSWERS}, {"vaccination_certificate": ("c.png", PNG, "image/png")})
    app_id = sent.headers["location"].split("/")[2].split("?")[0]
    urls = [f"/api/v1/applications/{app_id}/attachments/vaccination_certificate",
            f"/applications/{app_id}/files/vaccination_certificate", f"/staff/applications/{app_id}/files/vaccination_certificate"]
    for file_url in urls:
        for user, host in (("kitakata.resident-basic", "kitakata.localhost"), ("aizuwakamatsu.caseworker", "aizuwakamatsu.localhost"),
                           ("aizuwakamatsu.caseworker", "kitakata.localhost"), ("aizuwakamatsu.resident", "kitakata.localhost")):
            refused = await site.get(file_url, headers={**site.as_user(user), "host": host})
            assert refused.status_code in (403, 404) and PNG not in refused.content, (file_url, user, host, refused.status_code)
        signed_out = await site.get(file_url)
        assert signed_out.status_code in (401, 303) and PNG not in signed_out.content, (file_url, signed_out.status_code)
    nothing = await site.get(f"/api/v1/applications/{app_id}/attachments/dog_name", headers=site.as_user(RESIDENT))
    assert nothing.status_code == 404
    too_long = await site.get(f"/api/v1/applications/{app_id}/attachments/{'x' * 60}", headers=site.as_user(RESIDENT))
    assert too_long.status_code == 422 and "field" in too_long.text


async def test_a_file_of_the_wrong_kind_is_named_on_its_field_and_nothing_is_filed(site: GatewayClient) -> None:
    auth = site.as_user(RESIDENT)
    before = len((await site.get("/api/v1/applications", headers=auth)).json()["items"])
    page, fields = await _form(site)
    # Declared a PNG, but its content is not: the service reads the file, not the label.
    sent = await _post(site, page, {**fields, **ANSWERS}, {"vaccination_certificate": ("photo.png", b"GIF89a....", "image/png")})
    assert sent.status_code == 422
    body = main_of(sent.text)
    assert 'href="#field-vaccination_certificate"' in body and 'id="error-vaccination_certificate"' in body
    assert "PNG ではありません" in body and 'name="vaccination_certificate__upload"' not in body
    missing = await _post(site, page, {**fields, **ANSWERS})
    assert missing.status_code == 422 and 'id="error-vaccination_certificate"' in missing.text
    assert len((await site.get("/api/v1/applications", headers=auth)).json()["items"]) == before


async def test_an_attached_file_is_kept_while_another_answer_is_corrected(site: GatewayClient) -> None:
    page, fields = await _form(site)
    first = await _post(site, page, {**fields, **ANSWERS, "dog_name": ""},
                        {"vaccination_certificate": ("証明書.png", PNG, "image/png")})
    assert first.status_code == 422 and 'id="error-dog_name"' in first.text
    body = main_of(first.text)
    assert "添付済み：証明書.png" in body and 'id="error-vaccination_certificate"' not in body
    kept = hidden(first.text, "vaccination_certificate__upload")
    corrected = {**fields, **ANSWERS, "vaccination_certificate__upload": kept,
                 "vaccination_certificate__filename": hidden(first.text, "vaccination_certificate__filename")}
    sent = await _send(site, page, corrected)
    assert sent.status_code == 303, main_of(sent.text)


async def test_an_upload_is_usable_only_by_its_maker_in_its_town(site: GatewayClient) -> None:
    page, fields = await _form(site)
    first = await _post(site, page, {**fields, **ANSWERS, "dog_name": ""},
                        {"vaccination_certificate": ("証明書.png", PNG, "image/png")})
    kept = hidden(first.text, "vaccination_certificate__upload")
    # Another resident of the town, and the same resident's name in another town, cannot file it.
    for user, host in (("kitakata.resident-basic", "kitakata.localhost"), ("aizuwakamatsu.resident", "aizuwakamatsu.localhost")):
        other_page, other_fields = await _form(site, user=user, host=host)
        taken = await _post(site, other_page, {**other_fields, **ANSWERS, "owner_name": "他人", "owner_address": "会津",
                                               "vaccination_certificate__upload": kept}, user=user, host=host)
        assert taken.status_code == 422, (user, taken.status_code)
        assert "保存期間が過ぎました" in main_of(taken.text)


async def test_uploads_need_a_signed_in_caller_and_expire(site: GatewayClient, nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        store = await nc.jetstream().object_store(uploads.BUCKET)
        status = await store.status()
        assert status.ttl == uploads.MAX_AGE
        before = len(await store.list(ignore_deletes=True)) if status.size else 0
        # A signed-out multipart post keeps to the usual body limit and stores nothing.
        page = await site.get("/settings")
        site.cookies.update(page.cookies)
        big = await site.post("/settings", data={"_csrf_token": csrf_of(page.text)},
                              files={"x": ("big.png", PNG * 6000, "image/png")})
        assert big.status_code == 413
        # Nor does a cookie named like the sign-in's binding, or a bearer header that does not verify
        # (either once raised the limit to that of a signed-in form, about 41 MB).
        for forged in ({"cookie": f"aizu_auth=forged; {'; '.join(f'{k}={v}' for k, v in page.cookies.items())}"},
                       {"authorization": "Bearer not-a-token"}):
            big = await site.post("/settings", data={"_csrf_token": csrf_of(page.text)},
                                  files={"x": ("big.png", PNG * 6000, "image/png")}, headers=forged)
            assert big.status_code == 413, (forged, big.status_code)
        site.cookies.update(page.cookies)
        small = await site.post("/settings", data={"_csrf_token": csrf_of(page.text)},
                                files={"x": (f"{uuid.uuid4()}.png", PNG, "image/png")})
        assert small.status_code == 303, small.status_code  # the settings are saved, the file is not
        after = len(await store.list(ignore_deletes=True)) if (await store.status()).size else 0
        assert after == before
    finally:
        await nc.close()


async def test_big_or_many_files_are_refused_before_anything_is_kept(site: GatewayClient) -> None:
    page, fields = await _form(site)
    three = {f"f{i}": (f"{i}.png", PNG, "image/png") for i in range(3)}
    site.cookies.update(page.cookies)
    many = await site.post(DOG, data={**fields, **ANSWERS}, files=three, headers=site.as_user(RESIDENT))
    assert many.status_code == 413 and "at most 2 files" in many.text
    # A plain form is held to the usual limit, signed in or not, before it is read.
    site.cookies.update(page.cookies)
    long_form = await site.post(DOG, data={**fields, "dog_name": "x" * 2_000_000}, headers=site.as_user(RESIDENT))
    assert long_form.status_code == 413
