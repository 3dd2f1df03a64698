"""Notification channels: web push (key, subscriptions), the town's webhooks, deliveries and dead letters."""

from __future__ import annotations

from litestar import Response, delete, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from contracts import notifications as msg
from contracts.subjects import NOTIFICATIONS
from contracts.tenant_profile import TenantProfile
from gateway.access import Caller
from gateway.routes.replies import documented, json_reply


@get("/api/v1/push/key", tags=["push"], responses={200: documented(msg.PushKey, "The VAPID public key (applicationServerKey)")})
async def push_key(state: State, tenant: NamedDependency[TenantProfile]) -> Response[bytes]:
    return json_reply(await state.bus.call(tenant, NOTIFICATIONS, msg.PUSH_KEY, msg.GetPushKey()))


@put(
    "/api/v1/push/subscription",
    tags=["push"],
    responses={200: documented(msg.PushSubscriptionSaved, "The browser's subscription, saved")},
)
async def put_push_subscription(
    state: State, caller: NamedDependency[Caller], data: JSONBody[msg.PushSubscription]
) -> Response[bytes]:
    """The browser's ``PushSubscription.toJSON()``: endpoint and keys (p256dh, auth)."""
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.PUT_PUSH_SUBSCRIPTION, data, principal))


@delete(
    "/api/v1/push/subscription",
    tags=["push"],
    status_code=200,
    responses={200: documented(msg.Removed, "Whether the subscription was there")},
)
async def delete_push_subscription(
    state: State, caller: NamedDependency[Caller], data: JSONBody[msg.RemovePushSubscription]
) -> Response[bytes]:
    principal = await caller.resident()
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.DELETE_PUSH_SUBSCRIPTION, data, principal))


@get("/api/v1/webhooks", tags=["webhooks"], responses={200: documented(msg.WebhookList, "The town's webhooks (no secrets)")})
async def list_webhooks(state: State, caller: NamedDependency[Caller]) -> Response[bytes]:
    principal = await caller.staff("tenant-admin")
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.WEBHOOKS, msg.ListWebhooks(), principal))


@post(
    "/api/v1/webhooks",
    tags=["webhooks"],
    status_code=201,
    responses={201: documented(msg.WebhookCreated, "The webhook and its signing secret, shown this once")},
)
async def add_webhook(state: State, caller: NamedDependency[Caller], data: JSONBody[msg.AddWebhook]) -> Response[bytes]:
    principal = await caller.staff("tenant-admin")
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.ADD_WEBHOOK, data, principal), 201)


@delete(
    "/api/v1/webhooks/{webhook_id:str}",
    tags=["webhooks"],
    status_code=200,
    responses={200: documented(msg.Removed, "Whether the webhook was there")},
)
async def delete_webhook(state: State, caller: NamedDependency[Caller], webhook_id: FromPath[str]) -> Response[bytes]:
    principal = await caller.staff("tenant-admin")
    req = msg.DeleteWebhook(id=webhook_id[:36])
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.DELETE_WEBHOOK, req, principal))


@get(
    "/api/v1/deliveries",
    tags=["deliveries"],
    responses={200: documented(msg.DeliveryList, "The town's outbound deliveries, newest first")},
)
async def list_deliveries(
    state: State,
    caller: NamedDependency[Caller],
    status: FromQuery[msg.DeliveryStatus | None] = None,
    message_id: FromQuery[str | None] = None,
    limit: FromQuery[int] = 100,
) -> Response[bytes]:
    principal = await caller.staff()
    query = msg.ListDeliveries(status=status, message_id=message_id, limit=limit)
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.DELIVERIES, query, principal))


@get(
    "/api/v1/dead-letters",
    tags=["deliveries"],
    responses={200: documented(msg.DeadLetterList, "What the town's notifications gave up on, oldest first")},
)
async def list_dead_letters(state: State, caller: NamedDependency[Caller], limit: FromQuery[int] = 100) -> Response[bytes]:
    principal = await caller.staff("tenant-admin")
    return json_reply(await state.bus.call(caller.tenant, NOTIFICATIONS, msg.DEAD_LETTERS, msg.ListDeadLetters(limit=limit), principal))
