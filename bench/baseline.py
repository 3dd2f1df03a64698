"""The baseline: a bare Litestar route forwarding one NATS request to a service that does no work.

``python -m bench.baseline service`` runs the do-nothing service; ``python -m bench.baseline
gateway PORT`` runs the bare route. Both use the same server settings as the real gateway.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
import uvicorn
from litestar import Litestar, Response, get
from litestar.datastructures import State

SUBJECT = "bench.noop"
REPLY = b'{"ok":true}'


async def service() -> None:
    nc = await nats.connect(os.environ["AIZU_NATS_URL"])

    async def answer(msg) -> None:
        await msg.respond(REPLY)

    await nc.subscribe(SUBJECT, queue="noop", cb=answer)
    await asyncio.Event().wait()


@asynccontextmanager
async def _bus(app: Litestar) -> AsyncIterator[None]:
    app.state.nc = await nats.connect(os.environ["AIZU_NATS_URL"])
    yield
    await app.state.nc.close()


@get("/forward")
async def forward(state: State) -> Response[bytes]:
    reply = await state.nc.request(SUBJECT, b"{}", timeout=5)
    return Response(reply.data, media_type="application/json")


def gateway(port: int) -> None:
    uvicorn.run(Litestar([forward], lifespan=[_bus]), host="127.0.0.1", port=port, access_log=False,
                server_header=False, loop="auto", http="auto")


if __name__ == "__main__":
    import uvloop

    if sys.argv[1] == "service":
        uvloop.run(service())
    else:
        gateway(int(sys.argv[2]))
