"""Reading the portal's HTML in tests, as a browser's form handling would."""

from __future__ import annotations

import re


def main_of(html: str) -> str:
    """The page's own content, without the frame (header, menus, footer)."""
    return html[html.index("<main"): html.index("</main>")]


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    """Every hidden field of the page's forms, as a browser would post them again."""
    from html import unescape

    return {unescape(name): unescape(value) for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)}


def confirmed(check_page: str) -> dict[str, str]:
    """What pressing 「この内容で申請する」 on a check-your-answers page posts."""
    assert "入力内容の確認" in check_page, "not a check-your-answers page"
    return {**hidden_fields(check_page), "step": "confirm"}
