"""The portal's in-process Litestar app, fed directly: what a handler's failure becomes."""

from __future__ import annotations

import msgspec
import pytest

from contracts.portal import PageReply
from services.portal import dispatch
from services.portal.routing import Pages, Segment, ThisPage
from services.portal.view import Page


class Broken(Exception):
    pass


class CouncilPage(Page):
    """Enough of a page for the app's hook (the news banner is not read at the council's host)."""

    is_council = True  # type: ignore[assignment]

    def __init__(self) -> None:
        pass


pages = Pages()


@pages.page("/fine/{code:str}")
async def fine(page: ThisPage, code: Segment) -> PageReply:
    return PageReply(html=f"<p>{code}</p>")


@pages.page("/broken")
async def broken(page: ThisPage) -> PageReply:
    raise Broken("a bug in a page")


APP = dispatch.build(pages)


async def test_a_page_answers_its_reply_and_a_bug_in_one_is_the_services_error_not_a_page() -> None:
    answered = msgspec.json.decode(await dispatch._serve(APP, "GET", "/town/fine/abc", CouncilPage()), type=PageReply)
    assert answered.html == "<p>abc</p>" and answered.status == 200
    # Raised again, so the bus answers the gateway with an error and $SRV.STATS counts it.
    with pytest.raises(Broken, match="a bug in a page"):
        await dispatch._serve(APP, "GET", "/town/broken", CouncilPage())
