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
