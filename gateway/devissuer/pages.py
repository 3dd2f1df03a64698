"""The issuer's HTML pages: Japanese first, English second, usable by an elderly resident on a phone.

Plain HTML and one small style sheet, no script: every choice is a large, labelled button in one
form, so it works with a screen reader, keyboard, zoom and slow connections alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from gateway.devissuer.users import DemoUser

STYLE = """
:root { color-scheme: light; --ink: #1a1a1a; --brand: #1F3A5F; --focus: #E0B040; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, "Hiragino Sans", "Noto Sans JP", "Yu Gothic", sans-serif;
       font-size: 1.125rem; line-height: 1.6; color: var(--ink); background: #fff; }
header, main { max-width: 44rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; color: var(--brand); margin: .5rem 0; }
h2 { font-size: 1.3rem; border-bottom: 2px solid var(--brand); margin: 2rem 0 .75rem; }
.en { display: block; font-size: .95em; color: #3d3d3d; }
.dev { background: #fff4d6; border: 2px solid #8a6100; padding: .75rem; border-radius: .5rem; }
ul.plain { list-style: none; padding: 0; margin: 0; }
ul.towns { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; padding: 0; }
ul.towns a { display: inline-block; padding: .5rem .75rem; min-height: 3rem; color: var(--brand);
             border: 2px solid var(--brand); border-radius: .5rem; text-decoration: none; }
button { width: 100%; min-height: 3.5rem; margin: .4rem 0; padding: .75rem 1rem; text-align: left;
         font: inherit; color: #fff; background: var(--brand); border: 2px solid var(--brand); border-radius: .6rem;
         cursor: pointer; }
button .who { display: block; font-size: 1.25rem; font-weight: bold; }
button .what { display: block; }
button .en { color: inherit; }
button code { font-size: .9rem; opacity: .9; }
button.secondary { background: #fff; color: var(--brand); text-align: center; }
a:focus-visible, button:focus-visible { outline: 4px solid var(--focus); outline-offset: 2px; }
"""


def _bi(ja: str, en: str) -> str:
    """A Japanese text with its English translation below, marked as English for screen readers."""
    return f'{escape(ja)}<span class="en" lang="en">{escape(en)}</span>'


def _document(title_ja: str, title_en: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title_ja)} / {escape(title_en)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


_DEV_NOTE = (
    '<p class="dev" role="note">'
    + _bi(
        "開発環境専用のサインイン画面です。表示される人物・住所はすべて架空です。",
        "Development sign-in only. Every person and address shown is fictional.",
    )
    + "</p>"
)


def _user_button(user: DemoUser) -> str:
    return (
        f'<li><button type="submit" name="username" value="{escape(user.username)}">'
        f'<span class="who">{escape(user.name)}</span>'
        f'<span class="what">{_bi(user.description_ja, user.description_en)}</span>'
        f"<code>{escape(user.username)}</code></button></li>"
    )


def sign_in_page(
    *,
    action: str,
    txn: str,
    client_id: str,
    groups: Sequence[tuple[str, str, str, Sequence[DemoUser]]],
    jpki_only: bool,
) -> str:
    choose = _bi(f"「{client_id}」にサインインする利用者を選んでください。", f"Choose who signs in to {client_id}.")
    intro = f"<p>{choose}</p>"
    if jpki_only:
        intro += (
            "<p>"
            + _bi(
                "この手続きにはマイナンバーカードによる本人確認が必要なため、確認済みの住民だけを表示しています。",
                "This procedure needs My Number Card verification, so only card-verified residents are shown.",
            )
            + "</p>"
        )
    sections = []
    for slug, name_ja, name_en, users in groups:
        heading_id = f"town-{escape(slug)}"
        sections.append(
            f'<section aria-labelledby="{heading_id}"><h2 id="{heading_id}">{_bi(name_ja, name_en)}</h2>'
            f'<ul class="plain">{"".join(_user_button(u) for u in users)}</ul></section>'
        )
    if not sections:
        sections.append("<p>" + _bi("条件に合う利用者がいません。", "No demo user meets this request.") + "</p>")
    nav = ""
    if len(groups) > 1:
        links = "".join(f'<li><a href="#town-{escape(s)}">{escape(ja)}</a></li>' for s, ja, _en, _u in groups)
        nav = f'<nav aria-label="市町村へ移動 / Go to a town"><ul class="towns">{links}</ul></nav>'
    cancel = (
        '<p><button type="submit" name="cancel" value="1" class="secondary">'
        + _bi("キャンセル", "Cancel")
        + "</button></p>"
    )
    body = (
        f"<header>{_DEV_NOTE}<h1>{_bi('会津地域 共通サインイン', 'Aizu region sign-in')}</h1>{intro}{nav}</header>"
        f'<main><form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="txn" value="{escape(txn)}">'
        f"{''.join(sections)}{cancel}</form></main>"
    )
    return _document("サインイン（開発用）", "Sign in (development)", body)


def message_page(heading_ja: str, heading_en: str, ja: str, en: str) -> str:
    body = f"<main>{_DEV_NOTE}<h1>{_bi(heading_ja, heading_en)}</h1><p>{_bi(ja, en)}</p></main>"
    return _document(heading_ja, heading_en, body)


def error_page(ja: str, en: str) -> str:
    return message_page("サインインできません", "Cannot sign in", ja, en)


def logout_error_page(ja: str, en: str) -> str:
    return message_page("ログアウトできません", "Cannot sign out", ja, en)


def signed_out_page() -> str:
    return message_page(
        "ログアウトしました", "You have signed out", "このページを閉じてかまいません。", "You may close this page."
    )


def logout_confirm_page(*, action: str, csrf: str, hidden: dict[str, str]) -> str:
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items())
    body = (
        f"<main>{_DEV_NOTE}<h1>{_bi('ログアウトしますか？', 'Sign out?')}</h1>"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">{fields}'
        f'<button type="submit" name="confirm" value="1">{_bi("ログアウトする", "Sign out")}</button></form></main>'
    )
    return _document("ログアウト", "Sign out", body)
