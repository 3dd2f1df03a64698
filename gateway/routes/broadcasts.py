"""Broadcasts (お知らせ・緊急情報) and push-type notice rules (プッシュ型のお知らせ).

At a town's host: its tenant admins write and approve the town's broadcasts and rules. At the
council's host: council members write and approve region-wide broadcasts. The service checks
again (author ≠ approver, same town), so these checks only keep the bus quiet.
"""

from __future__ import annotations

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from contracts import broadcasts as msg
from contracts.principal import Principal
from contracts.subjects import NOTIFICATIONS
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply


async def _broadcaster(caller: Caller) -> Principal:
    if caller.tenant.kind == "council":
        return await caller.council()
    return await caller.staff("tenant-admin")


async def _ask(state: State, caller: Caller, verb: str, message: object) -> bytes:
    principal = await _broadcaster(caller)
    # Not ``bus.call`` (towns only): the council writes region-wide broadcasts as itself.
    return await state.bus.request(caller.tenant.slug, NOTIFICATIONS, verb, msgspec.json.encode(message), principal)


@post(
    "/api/v1/broadcasts",
    tags=["broadcasts"],
    status_code=201,
    responses={201: documented(msg.Broadcast, "Written; an emergency alert or a region-wide one waits for approval")},
)
async def create_broadcast(state: State, caller: NamedDependency[Caller], data: JSONBody[msg.NewBroadcast]) -> Response[bytes]:
    """An announcement (goes at once) or an emergency alert (needs a second admin's approval)."""
    return json_reply(await _ask(state, caller, msg.BROADCAST, data), 201)


@post(
    "/api/v1/broadcasts/{broadcast_id:str}/approve",
    tags=["broadcasts"],
    status_code=200,
    responses={200: documented(msg.Broadcast, "Approved and released: the fan-out has begun")},
)
async def approve_broadcast(
    state: State, caller: NamedDependency[Caller], broadcast_id: FromPath[str], data: JSONBody[msg.Approval | None] = None
) -> Response[bytes]:
    """The second person's approval; the author's own is refused. When nobody would receive it,
    ``zero_recipients_reason`` must say why it goes out anyway (422 naming it otherwise)."""
    reason = data.zero_recipients_reason if data else ""
    return json_reply(await _ask(state, caller, msg.APPROVE_BROADCAST,
                                 msg.ApproveBroadcast(id=broadcast_id, zero_recipients_reason=reason)))


@get(
    "/api/v1/broadcasts/{broadcast_id:str}",
    tags=["broadcasts"],
    responses={200: documented(msg.Broadcast, "With its progress town by town and channel by channel")},
)
async def get_broadcast(state: State, caller: NamedDependency[Caller], broadcast_id: FromPath[str]) -> Response[bytes]:
    return json_reply(await _ask(state, caller, msg.GET_BROADCAST, msg.GetBroadcast(id=broadcast_id)))


@get(
    "/api/v1/broadcasts",
    tags=["broadcasts"],
    responses={200: documented(msg.BroadcastList, "Newest first, with status and reach")},
)
async def list_broadcasts(state: State, caller: NamedDependency[Caller], limit: FromQuery[int] = 50) -> Response[bytes]:
    return json_reply(await _ask(state, caller, msg.BROADCASTS, msg.ListBroadcasts(limit=limit)))


@get(
    "/api/v1/notice-rules",
    tags=["notices"],
    responses={200: documented(msg.NoticeRuleList, "The town's push-type notice rules, their runs and reach")},
)
async def list_notice_rules(state: State, caller: NamedDependency[Caller]) -> Response[bytes]:
    principal = await caller.staff()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.NOTICE_RULES, msg.ListNoticeRules(), principal))


@post(
    "/api/v1/notice-rules",
    tags=["notices"],
    status_code=201,
    responses={201: documented(msg.NoticeRule, "Saved (a new rule without ``id``, else the change)")},
)
async def put_notice_rule(state: State, caller: NamedDependency[Caller], data: JSONBody[msg.PutNoticeRule]) -> Response[bytes]:
    principal = await caller.staff("tenant-admin")
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.PUT_NOTICE_RULE, data, principal), 201)


@get(
    "/api/v1/notice-rules/{rule_id:str}/preview",
    tags=["notices"],
    responses={200: documented(msg.NoticePreview, "Who the rule reaches now; nothing is sent")},
)
async def preview_notice_rule(state: State, caller: NamedDependency[Caller], rule_id: FromPath[str]) -> Response[bytes]:
    principal = await caller.staff()
    ref = msg.NoticeRuleRef(id=rule_id)
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.PREVIEW_NOTICE_RULE, ref, principal))


@post(
    "/api/v1/notice-rules/{rule_id:str}/runs",
    tags=["notices"],
    status_code=201,
    responses={201: documented(msg.NoticeRun, "Run: matching consented residents not notified before are notified")},
)
async def run_notice_rule(state: State, caller: NamedDependency[Caller], rule_id: FromPath[str]) -> Response[bytes]:
    principal = await caller.staff("tenant-admin")
    ref = msg.NoticeRuleRef(id=rule_id)
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.RUN_NOTICE_RULE, ref, principal), 201)


ROUTES = [
    create_broadcast, approve_broadcast, list_broadcasts, get_broadcast,
    list_notice_rules, put_notice_rule, preview_notice_rule, run_notice_rule,
]
