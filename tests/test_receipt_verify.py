"""The receipt as a QR code, and the public page 「受付証を確かめる」 (/verify) through the real gateway:
a genuine receipt is confirmed in plain words, a changed or made-up one is refused with a clear
message (422), an oversized paste is a 413, never a 500, and nobody needs to sign in."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
import segno

from services.portal.pages import verify
from tests.conftest import GatewayClient
from tests.pages import csrf_of, main_of

pytestmark = pytest.mark.parametrize(("procedures_db", "notifications_db", "portal_db"), [("sqlite",) * 3], indirect=True)

RESIDENT = "kitakata.resident"
PROCEDURE_JA = "住民票の写しの交付請求"
_DETAILS = re.compile(r"<details>.*?</details>", re.S)


async def file(site: GatewayClient, user: str = RESIDENT, town: str = "kitakata") -> tuple[str, str]:
    """File 住民票の写し through the API as ``user``: the application's id and its signed receipt."""
    sent = await site.post("/api/v1/applications", json={"code": "juminhyo-copy"},
                           headers={**site.as_user(user), "idempotency-key": str(uuid.uuid4()), "host": f"{town}.localhost"})
    assert sent.status_code == 201, sent.text
    return sent.json()["application"]["id"], sent.json()["receipt"]


async def name_of(site: GatewayClient, user: str = RESIDENT) -> str:
    return (await site.get("/api/v1/me", headers=site.as_user(user))).json()["identity"]["name"]


async def check(site: GatewayClient, pasted: str, host: str = "kitakata.localhost"):
    """Paste ``pasted`` into the form as an anonymous visitor (the form's CSRF token, no sign-in)."""
    form = await site.get("/verify", headers={"host": host})
    assert form.status_code == 200, form.text[:300]
    site.cookies.update(form.cookies)
    return await site.post("/verify", data={"_csrf_token": csrf_of(form.text), "receipt": pasted}, headers={"host": host})


def changed(token: str, part: int) -> str:
    """``token`` with one character in the middle of its ``part`` (0 header, 1 claims, 2 signature) changed."""
    parts = token.split(".")
    middle = len(parts[part]) // 2
    parts[part] = parts[part][:middle] + ("A" if parts[part][middle] != "A" else "B") + parts[part][middle + 1:]
    return ".".join(parts)


def qr_path(svg_content: str) -> str:
    """The modules of a QR code as segno draws them: the same code gives the same path."""
    paths = re.findall(r' d="([^"]+)"', svg_content)
    assert paths, svg_content[:300]
    return max(paths, key=len)


@pytest.mark.parametrize("path", ["/applications/{id}/receipt", "/applications/{id}?received=1"])
async def test_the_receipt_is_a_qr_code_and_a_link_not_a_block_of_signature(site: GatewayClient, path: str) -> None:
    app_id, token = await file(site)
    shown = await site.get(path.format(id=app_id), headers=site.as_user(RESIDENT))
    assert shown.status_code == 200, shown.text[:500]
    body = main_of(shown.text)
    # An inline SVG, named for screen readers, of this town's check page carrying the receipt.
    svg = re.search(r"<svg[^>]*>.*?</svg>", body, re.S)
    assert svg, body[:1000]
    assert 'role="img"' in svg.group(0) and 'aria-label="電子受付証のQRコード"' in svg.group(0)
    assert "<title>電子受付証のQRコード</title>" in svg.group(0)
    # The address the resident reached the town at (the test's Host header), in development http.
    url = verify.check_url("http://kitakata.localhost", token)
    assert url == f"http://kitakata.localhost/verify?r={token}"
    expected = segno.make(url, error="m")
    assert qr_path(svg.group(0)) == qr_path(expected.svg_inline(scale=2, border=4))
    assert expected.version <= 27, f"a QR code of version {expected.version} is too dense to scan"
    assert '<a href="/verify">受付証を確かめる</a>' in body
    # The signature's text is there to copy, folded away, not the page's content.
    assert token not in _DETAILS.sub("", body)
    assert f'<p class="receipt">{token}</p>' in _DETAILS.search(body).group(0)  # type: ignore[union-attr]


async def test_a_genuine_receipt_is_confirmed_in_plain_words_without_signing_in(site: GatewayClient) -> None:
    app_id, token = await file(site)
    applicant = await name_of(site)
    form = await site.get("/verify")
    assert form.status_code == 200
    assert "<h1>受付証を確かめる</h1>" in form.text and 'name="receipt"' in form.text
    assert "ログイン中" not in form.text  # nobody is signed in
    answered = await check(site, token)
    assert answered.status_code == 200, answered.text[:500]
    body = main_of(answered.text)
    assert 'role="status"' in body and "本物の受付証です" in body
    assert "喜多方市が電子署名をしたもの" in body
    assert f"<dd>{PROCEDURE_JA}</dd>" in body and f"<dd>{applicant}</dd>" in body
    assert re.search(r"<dd>20\d\d年\d\d月\d\d日 \d\d:\d\d</dd>", body)
    # The claims carry the application's id, not its 受付番号 (signed before the number is given).
    assert app_id in body
    assert "鍵で確かめました" not in body  # this town's own receipt
    # Opened from the QR code: the address carries the receipt, and the answer is the same.
    scanned = await site.get("/verify", params={verify.PARAM: token})
    assert scanned.status_code == 200 and "本物の受付証です" in scanned.text
    # Copied with line breaks and spaces, or the QR code's address pasted: still the receipt.
    wrapped = "\n".join(token[i:i + 60] for i in range(0, len(token), 60))
    assert (await check(site, f"  {wrapped} \r\n")).status_code == 200
    assert (await check(site, verify.check_url("http://kitakata.localhost", token) or "")).status_code == 200
    english = await site.get("/verify", params={verify.PARAM: token, "lang": "en"})
    assert english.status_code == 200 and "This receipt is genuine" in english.text
    assert "Kitakata City signed it" in english.text and "<dd>Request for a Copy of the Residence Certificate</dd>" in english.text


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "claims", "signature"])
async def test_a_receipt_with_one_character_changed_is_refused(site: GatewayClient, part: int) -> None:
    _, token = await file(site)
    forged = changed(token, part)
    refused = await check(site, forged)
    assert refused.status_code == 422, refused.text[:500]
    body = main_of(refused.text)
    assert 'role="alert"' in body and "本物の受付証だと確かめられませんでした" in body
    assert "本物の受付証です" not in body and PROCEDURE_JA not in body
    assert 'aria-invalid="true"' in body and 'href="#field-receipt"' in body
    assert forged in body  # kept in the box, to look at again
    if part == 1:
        assert "中身が書き換えられています" in body
    scanned = await site.get("/verify", params={verify.PARAM: forged})
    assert scanned.status_code == 422


async def test_a_changed_name_in_the_claims_is_named_as_a_change(site: GatewayClient) -> None:
    _, token = await file(site)
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["applicant_name"] = "別人 太郎"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims, ensure_ascii=False).encode()).rstrip(b"=").decode()
    refused = await check(site, f"{head}.{forged_payload}.{signature}")
    assert refused.status_code == 422
    assert "中身が書き換えられています" in refused.text and "別人 太郎" not in main_of(refused.text).split("<form")[0]


async def test_another_towns_receipt_is_checked_with_that_towns_keys_and_says_so(site: GatewayClient) -> None:
    """As POST /api/v1/verify does: any town's host checks any Aizu town's receipt and names the
    town that issued it; the page says it was not this town and whose keys it was checked with."""
    app_id, token = await file(site, "aizuwakamatsu.resident", town="aizuwakamatsu")
    api = (await site.post("/api/v1/verify", json={"token": token})).json()
    assert api["valid"] is True and api["tenant"] == "aizuwakamatsu"
    answered = await check(site, token)
    assert answered.status_code == 200, answered.text[:500]
    body = main_of(answered.text)
    assert "本物の受付証です" in body and "<dd>会津若松市</dd>" in body
    assert "これは会津若松市が出したものです。喜多方市ではなく、会津若松市の鍵で確かめました。" in body
    # The QR code on that town's receipt opens that town's own page.
    shown = await site.get(f"/applications/{app_id}/receipt",
                           headers={**site.as_user("aizuwakamatsu.resident"), "host": "aizuwakamatsu.localhost:8123"})
    assert shown.status_code == 200, shown.text[:300]
    expected = segno.make(f"http://aizuwakamatsu.localhost:8123/verify?r={token}", error="m")
    assert qr_path(shown.text) == qr_path(expected.svg_inline(scale=2, border=4))


async def test_garbage_and_oversized_input_get_a_message_not_a_500(site: GatewayClient) -> None:
    odd_header = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "kid": 12345}).encode()).rstrip(b"=").decode()
    listed_kid = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "kid": ["kitakata"]}).encode()).rstrip(b"=").decode()
    no_kid = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    nested = base64.urlsafe_b64encode(b"[" * 20_000).rstrip(b"=").decode()
    unknown = base64.urlsafe_b64encode(json.dumps({"alg": "ES256", "kid": "nowhere-1"}).encode()).rstrip(b"=").decode()
    for pasted in ("garbage", "こんにちは", "eyJ.abc.def", "a.b.c", f"{odd_header}.e30.AAAA", f"{listed_kid}.e30.AAAA",
                   f"{no_kid}.e30.", f"{unknown}.e30.AAAA", f"{nested}.e30.AAAA", "...",
                   "https://kitakata.localhost/verify?r=nothing", "\x00\x01", ""):
        refused = await check(site, pasted)
        assert refused.status_code == 422, (pasted, refused.status_code, refused.text[:300])
        assert 'role="alert"' in refused.text
        assert "Traceback" not in refused.text
    assert "受付証の文字として読み取れませんでした" in (await check(site, "garbage")).text
    assert "会津の市町村の署名ではありません" in (await check(site, f"{unknown}.e30.AAAA")).text
    huge = "eyJ" + "A" * 100_000
    refused = await check(site, huge)
    assert refused.status_code == 413, refused.status_code
    assert "長すぎます" in refused.text and huge not in refused.text
    assert (await site.get("/verify", params={verify.PARAM: "garbage"})).status_code == 422


async def test_the_page_is_a_towns_not_the_councils(site: GatewayClient) -> None:
    assert (await site.get("/verify", headers={"host": "council.localhost"})).status_code == 404
    assert (await site.get("/verify", headers={"host": "bandai.localhost"})).status_code == 200
