"""Running one service process: connect, open its database, serve until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

from services.insights import app as insights_app
from services.insights.settings import InsightsSettings
from services.notifications import app as notifications_app
from services.notifications.settings import NotificationsSettings
from services.portal import app as portal_app
from services.portal.settings import PortalSettings
from services.procedures import app as procedures_app
from services.procedures.settings import ProceduresSettings
from services.runtime import telemetry
from services.runtime.bus import connect, disconnect
from services.runtime.database import create_engine
from services.runtime.service import ServiceApp

log = logging.getLogger(__name__)

#: Each service: its settings (read from the environment once, at start) and how it is built from them.
SERVICES: dict[str, tuple[Callable[[], Any], Callable[[Any], ServiceApp[Any]]]] = {
    procedures_app.NAME: (ProceduresSettings.from_env, procedures_app.build),
    notifications_app.NAME: (NotificationsSettings.from_env, notifications_app.build),
    portal_app.NAME: (PortalSettings.from_env, portal_app.build),
    insights_app.NAME: (InsightsSettings.from_env, insights_app.build),
}
MIGRATIONS = {
    procedures_app.NAME: procedures_app.MIGRATIONS,
    notifications_app.NAME: notifications_app.MIGRATIONS,
    portal_app.NAME: portal_app.MIGRATIONS,
    insights_app.NAME: insights_app.MIGRATIONS,
}


async def serve_service(name: str, stop: asyncio.Event | None = None) -> None:
    read_settings, build = SERVICES[name]
    settings = read_settings()
    telemetry.setup(name, settings.runtime.telemetry)
    app = build(settings)
    engine = create_engine(settings.runtime.database_url(name))
    nc = await connect(settings.runtime.bus, name)
    await app.start(nc, engine)
    log.info("%s serving on %s", name, nc.connected_url.netloc if nc.connected_url else "?")
    stop = stop or _stop_on_signals()
    try:
        await stop.wait()
    finally:
        try:
            await app.stop()
        finally:
            await disconnect(nc)
            await engine.dispose()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
