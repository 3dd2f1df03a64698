"""The portal's settings, read from the environment once, when the process starts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import field

from services.runtime.settings import Environment, RuntimeSettings, load


class PortalSettings(msgspec.Struct, frozen=True, kw_only=True):
    runtime: RuntimeSettings = RuntimeSettings()
    #: Seconds a page waits for another service before it says so; shorter than the gateway's
    #: wait for the page, so the reader gets the portal's own answer.
    read_timeout: Annotated[float, msgspec.Meta(gt=0)] = field(default=2.0, name="AIZU_PORTAL_READ_TIMEOUT")
    #: New unanswered FAQ questions a town keeps a day: the search is public, so past it only
    #: questions already on the staff's list are counted.
    faq_new_per_day: Annotated[int, msgspec.Meta(ge=0)] = field(default=300, name="AIZU_FAQ_NEW_PER_DAY")

    @classmethod
    def from_env(cls, env: Environment | None = None) -> PortalSettings:
        return load(cls, env, runtime=RuntimeSettings.from_env(env))
