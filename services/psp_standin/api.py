"""The stand-in's HTTP face: the part of Stripe's API the platform uses (form-encoded requests,
JSON answers, ``Authorization: Bearer`` with the secret key, ``Idempotency-Key``), and the
hosted payment page a resident is sent to."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect

from services.psp_standin.ledger import Ledger, StripeFailure, public

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[tenant]=x``, ``line_items[0][quantity]=1``) as nested values."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = [m.group(1) or m.group(2) for m in _KEY.finditer(key)]
        node: Any = root
        for here, after in zip(parts, parts[1:]):
            node = node.setdefault(here, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def _ledger(state: State) -> Ledger:
    return state.ledger  # type: ignore[no-any-return]


def _authorised(request: Request[Any, Any, Any]) -> None:
    if request.headers.get("authorization", "") != f"Bearer {request.app.state.secret_key}":
        raise StripeFailure(401, "invalid_request_error", "Invalid API Key provided.")


async def _create(request: Request[Any, Any, Any], make: Any) -> Response[Any]:
    _authorised(request)
    body = await request.body()
    params = decode_form(body)
    status, answer = _ledger(request.app.state).once(
        request.headers.get("idempotency-key"), f"{request.method} {request.url.path} {body!r}",
        lambda: (200, public(make(params))))
    return Response(answer, status_code=status, headers={"Idempotency-Key": request.headers.get("idempotency-key", "")})


@post("/v1/checkout/sessions", status_code=200)
async def create_session(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _create(request, _ledger(request.app.state).create_session)


@get("/v1/checkout/sessions/{session_id:str}")
async def retrieve_session(request: Request[Any, Any, Any], session_id: FromPath[str]) -> dict[str, Any]:
    _authorised(request)
    return public(_ledger(request.app.state).session(session_id))


@post("/v1/checkout/sessions/{session_id:str}/expire", status_code=200)
async def expire_session(request: Request[Any, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    return await _create(request, lambda params: _ledger(request.app.state).expire(session_id))


@get("/v1/payment_intents/{intent_id:str}")
async def retrieve_intent(request: Request[Any, Any, Any], intent_id: FromPath[str]) -> dict[str, Any]:
    _authorised(request)
    return public(_ledger(request.app.state).intent(intent_id))


@post("/v1/refunds", status_code=200)
async def create_refund(request: Request[Any, Any, Any]) -> Response[Any]:
    return await _create(request, _ledger(request.app.state).refund)


@get("/v1/balance_transactions")
async def balance_transactions(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Newest first, as at Stripe (one page holds everything here)."""
    _authorised(request)
    data = [public(t) for t in reversed(_ledger(request.app.state).balance)]
    return {"object": "list", "url": "/v1/balance_transactions", "has_more": False, "data": data}


# -- the hosted page -------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – お支払い（開発用の決済画面）</title>
<style>
body{{font:1.25rem/1.6 system-ui,sans-serif;margin:0 auto;max-width:34rem;padding:1rem;color:#0b0c0c}}
h1{{font-size:1.75rem}} label{{display:block;font-weight:700;margin-top:1rem}}
input{{font-size:1.25rem;padding:.5rem;width:100%;box-sizing:border-box;border:2px solid #0b0c0c}}
button{{font-size:1.25rem;padding:.75rem 1.5rem;margin-top:1.5rem;background:#00703c;color:#fff;border:0;box-shadow:0 2px 0 #002d18}}
.error{{border-left:5px solid #d4351c;padding:.5rem 1rem;margin:1rem 0}} .amount{{font-size:2rem;font-weight:700}}
a{{color:#1d70b8}} :focus{{outline:3px solid #fd0;outline-offset:0}}
</style></head><body><main>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    return Response(_PAGE.format(title=html.escape(title), body=body), status_code=status, media_type=MediaType.HTML,
                    headers={"Cache-Control": "no-store"})


def _form(session: dict[str, Any], error: str = "") -> str:
    names = "、".join(html.escape(n) for n in session["_names"])
    alert = f'<div class="error" role="alert"><p>{html.escape(error)}</p></div>' if error else ""
    return f"""<h1>お支払い</h1>{alert}
<p>{names}</p><p class="amount">{session["amount_total"]:,} 円</p>
<form method="post" novalidate>
<label for="card_number">カード番号</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required>
<label for="expiry">有効期限（月/年）</label>
<input id="expiry" name="expiry" placeholder="12/30" autocomplete="cc-exp" required>
<label for="cvc">セキュリティコード</label>
<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" required>
<button type="submit">支払う</button>
</form>
<p><a href="{html.escape(session["cancel_url"])}">支払わずに戻る</a></p>"""


def _closed(session: dict[str, Any]) -> Response[str]:
    if session["status"] == "complete":
        return _page("お支払い済み", f'<h1>お支払いは済んでいます</h1><p><a href="{html.escape(session["success_url"])}">申請のページへ戻る</a></p>')
    return _page("期限切れ", f'<h1>この支払い画面は期限が切れました</h1><p>申請のページから、もう一度お支払いください。</p>'
                 f'<p><a href="{html.escape(session["cancel_url"])}">申請のページへ戻る</a></p>', 410)


@get("/pay/{session_id:str}")
async def payment_page(state: State, session_id: FromPath[str]) -> Response[str]:
    ledger = _ledger(state)
    if session_id not in ledger.sessions:
        return _page("見つかりません", "<h1>この支払い画面は見つかりません</h1>", 404)
    session = ledger.sessions[session_id]
    return _page("お支払い", _form(session)) if session["status"] == "open" else _closed(session)


@post("/pay/{session_id:str}", status_code=303)
async def pay(state: State, request: Request[Any, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    ledger = _ledger(state)
    if session_id not in ledger.sessions:
        return _page("見つかりません", "<h1>この支払い画面は見つかりません</h1>", 404)
    session = ledger.sessions[session_id]
    if session["status"] != "open":
        return _closed(session)
    form = await request.form()
    try:
        ledger.pay(session_id, str(form.get("card_number", "")))
    except StripeFailure as exc:
        return _page("お支払い", _form(session, "カードが使えませんでした。別のカードをお使いいただくか、カード番号をお確かめください。"
                                       if exc.status == 402 else str(exc)), 402)
    return Redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), status_code=303)


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _failure(request: Request[Any, Any, Any], exc: StripeFailure) -> Response[Any]:
    return Response(exc.body, status_code=exc.status)


def app(ledger: Ledger, secret_key: str) -> Litestar:
    return Litestar(
        [create_session, retrieve_session, expire_session, retrieve_intent, create_refund, balance_transactions,
         payment_page, pay, healthz],
        state=State({"ledger": ledger, "secret_key": secret_key}),
        exception_handlers={StripeFailure: _failure},  # type: ignore[dict-item]
        openapi_config=None,
    )
