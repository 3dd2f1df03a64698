"""Running one service process: connect, open its database, serve until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal

from services.insights import app as insights_app
from services.notifications import app as notifications_app
from services.portal import app as portal_app
from services.procedures import app as procedures_app
from services.runtime import telemetry
from services.runtime.bus import connect
from services.runtime.database import create_engine
from services.runtime.service import ServiceApp
from services.runtime.settings import BusSettings, database_url

log = logging.getLogger(__name__)

BUILDERS = {
    procedures_app.NAME: procedures_app.build,
    notifications_app.NAME: notifications_app.build,
    portal_app.NAME: portal_app.build,
    insights_app.NAME: insights_app.build,
}
MIGRATIONS = {
    procedures_app.NAME: procedures_app.MIGRATIONS,
    notifications_app.NAME: notifications_app.MIGRATIONS,
    portal_app.NAME: portal_app.MIGRATIONS,
    insights_app.NAME: insights_app.MIGRATIONS,
}


async def serve_service(name: str, stop: asyncio.Event | None = None) -> None:
    telemetry.setup(name)
    app: ServiceApp = BUILDERS[name]()
    engine = create_engine(database_url(name))
    nc = await connect(BusSettings.from_env(), name)
    await app.start(nc, engine)
    log.info("%s serving on %s", name, nc.connected_url.netloc if nc.connected_url else "?")
    stop = stop or _stop_on_signals()
    try:
        await stop.wait()
    finally:
        await app.stop()
        await nc.drain()
        await engine.dispose()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
