"""The resident's inbox and channel preferences, and the town's message templates (tenant admins)."""

from __future__ import annotations

import msgspec
from litestar import Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from contracts import notifications as msg
from contracts.subjects import NOTIFICATIONS
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply


@get(
    "/api/v1/inbox",
    tags=["inbox"],
    responses={200: documented(msg.InboxList, "The resident's own messages in this town, newest first")},
)
async def list_inbox(
    state: State, caller: NamedDependency[Caller], unread_only: FromQuery[bool] = False, limit: FromQuery[int] = 50
) -> Response[bytes]:
    principal = await caller.resident()
    query = msg.ListInbox(unread_only=unread_only, limit=limit)
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.INBOX, query, principal))


@post(
    "/api/v1/inbox/{message_id:str}/read",
    tags=["inbox"],
    status_code=200,
    responses={200: documented(msg.InboxMessage, "The message, marked read")},
)
async def mark_read(state: State, caller: NamedDependency[Caller], message_id: FromPath[str]) -> Response[bytes]:
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.READ, msg.MarkRead(id=message_id), principal))


@get(
    "/api/v1/preferences",
    tags=["inbox"],
    responses={200: documented(msg.Preferences, "How the resident is reached in this town")},
)
async def get_preferences(state: State, caller: NamedDependency[Caller]) -> Response[bytes]:
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.PREFERENCES, msg.GetPreferences(), principal))


@put(
    "/api/v1/preferences",
    tags=["inbox"],
    responses={200: documented(msg.Preferences, "As saved: the inbox first, then the other channels in order")},
)
async def set_preferences(state: State, caller: NamedDependency[Caller], data: JSONBody[msg.Preferences]) -> Response[bytes]:
    """Channels in fallback order (the inbox is always on) and the email address to use."""
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.SET_PREFERENCES, data, principal))


@get(
    "/api/v1/templates",
    tags=["templates"],
    responses={200: documented(msg.TemplateList, "Every kind of message: the town's template or the regional default")},
)
async def list_templates(state: State, caller: NamedDependency[Caller]) -> Response[bytes]:
    principal = await caller.staff()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.TEMPLATES, msg.ListTemplates(), principal))


class TemplateBody(msgspec.Struct, frozen=True, kw_only=True):
    title_ja: msg.Title
    body_ja: msg.Body
    title_en: msg.Title
    body_en: msg.Body


@put(
    "/api/v1/templates/{kind:str}",
    tags=["templates"],
    responses={200: documented(msg.Template, "As saved")},
)
async def put_template(
    state: State, caller: NamedDependency[Caller], kind: FromPath[str], data: JSONBody[TemplateBody]
) -> Response[bytes]:
    """A town's own template for one kind of message; unknown or missing placeholders are refused by name."""
    principal = await caller.staff("tenant-admin")
    template = msg.PutTemplate(kind=kind, **msgspec.structs.asdict(data))
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.PUT_TEMPLATE, template, principal))
