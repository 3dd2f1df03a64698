"""Real HTTP servers on loopback for the channels' tests: a push service (RFC 8030) that can
decrypt what it gets with the test subscription's private key (RFC 8291), and a town's webhook
receiver that checks the Standard Webhooks signature."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02

from services.notifications.channels import webhooks
from services.notifications.channels.webpush import b64url, unb64url
from services.runtime import local_servers


@dataclass
class Browser:
    """A subscription as a browser makes it: its own key pair and auth secret."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, base: str) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": f"{base}/push/{self.name}", "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Servers:
    """Both fakes on one loopback port. ``status[path]``: what to answer there (a list is used up
    one by one, its last answer repeated); default 201 for pushes, 200 for webhooks."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status: dict[str, int | list[int]] = {}
        self.secrets: dict[str, str] = {}
        self.bad_signatures = 0
        self.bad_vapid = 0
        self.base = ""

    def answer(self, path: str, default: int) -> int:
        wanted = self.status.get(path, default)
        if isinstance(wanted, list):
            return wanted.pop(0) if len(wanted) > 1 else wanted[0]
        return wanted

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        status = 404
        if scope["method"] == "POST" and path.startswith("/push/"):
            if not Vapid02.verify(headers.get("authorization", "")):
                self.bad_vapid += 1
                status = 401
            else:
                status = self.answer(path, 201)
        elif scope["method"] == "POST" and path.startswith("/hook/"):
            secret = self.secrets.get(path)
            if secret is None or not webhooks.verify(secret, headers, body):
                self.bad_signatures += 1
                status = 401
            else:
                status = self.answer(path, 200)
        self.received.append(Received(path, headers, body))
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def channel_servers() -> AsyncIterator[Servers]:
    app = Servers()
    sock = local_servers.bound_socket()
    port = sock.getsockname()[1]
    app.base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        await task
        sock.close()


def unpadded(text: str) -> bytes:
    return unb64url(text)
