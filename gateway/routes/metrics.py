"""The towns' shared figures (KPIs) and their open-data CSV.

At the council's host: council members, every town side by side. At a town's host: that town's
tenant admins, their own town against the regional median. Residents and caseworkers: 403.
``from`` and ``to`` are dates (YYYY-MM-DD, Asia/Tokyo, both included); a bad one is a 400 naming it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from contracts import insights as msg
from contracts.errors import ErrorCode, ErrorEnvelope, FieldError, ServiceFailure
from contracts.principal import Principal
from contracts.subjects import INSIGHTS
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply

CSV = "text/csv"  # Litestar adds "; charset=utf-8"
#: The window's query parameters, ``from`` (a Python keyword, hence ``from_``) and ``to``.
FromDate = Annotated[str | None, QueryParameter(name="from", description="first day, YYYY-MM-DD")]
ToDate = Annotated[str | None, QueryParameter(name="to", description="last day, YYYY-MM-DD")]


def _date(field: str, value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ServiceFailure(ErrorEnvelope(
            code=ErrorCode.BAD_REQUEST, title="Bad query parameter", detail=f"{field} must be a date (YYYY-MM-DD)",
            fields=[FieldError(field=field, message_ja="日付は YYYY-MM-DD の形で指定してください。",
                               message_en="a date as YYYY-MM-DD")],
        )) from None


def _query(from_: str | None, to: str | None) -> msg.MetricsQuery:
    start, end = _date("from", from_), _date("to", to)
    # Checked here too, so a wrong window is refused before it reaches the bus.
    _, errors = msg.window_errors(start, end, datetime.now(ZoneInfo("Asia/Tokyo")).date(), prefix="")
    if errors:
        raise ServiceFailure(ErrorEnvelope(code=ErrorCode.BAD_REQUEST, title="Bad window", detail=errors[0].message_en,
                                           fields=errors))
    return msg.MetricsQuery(from_=start, to=end)


async def _authorised(caller: Caller) -> tuple[str, Principal]:
    """The tenant to ask as (``council`` or the town) and who asks."""
    if caller.tenant.kind == "council":
        return caller.tenant.slug, await caller.council()
    return caller.tenant.slug, await caller.staff("tenant-admin")


async def _ask(state: State, caller: Caller, verb: str, query: msg.MetricsQuery) -> bytes:
    tenant, principal = await _authorised(caller)
    # Not ``bus.call``: that one serves towns only, and the council asks as itself.
    return await state.bus.request(tenant, INSIGHTS, verb, msgspec.json.encode(query), principal)


@get(
    "/api/v1/metrics/towns",
    tags=["metrics"],
    responses={200: documented(msg.TownsMetrics, "Each town's figures for the window, and the regional median")},
)
async def towns(
    state: State, caller: NamedDependency[Caller], from_: FromDate = None, to: ToDate = None
) -> Response[bytes]:
    """Counts under 5 are withheld: null, and named in ``suppressed``."""
    return json_reply(await _ask(state, caller, msg.TOWNS, _query(from_, to)))


@get("/api/v1/metrics/towns.csv", tags=["metrics"], media_type=CSV)
async def towns_csv(
    state: State, caller: NamedDependency[Caller], from_: FromDate = None, to: ToDate = None
) -> Response[bytes]:
    """Open data: UTF-8 with a BOM (for Excel), headers in Japanese and English."""
    query = _query(from_, to)
    body = await _ask(state, caller, msg.TOWNS_CSV, query)
    name = f"aizu-metrics-{caller.tenant.slug}-{query.from_ or 'start'}-{query.to or 'today'}.csv"
    return Response(body, media_type=CSV, headers={"content-disposition": f'attachment; filename="{name}"'})
