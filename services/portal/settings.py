"""The portal's settings, read from the environment once, when the service is built."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec


class PortalSettings(msgspec.Struct, frozen=True, kw_only=True):
    #: Seconds a page waits for another service before it says so (``AIZU_PORTAL_READ_TIMEOUT``);
    #: shorter than the gateway's wait for the page, so the reader gets the portal's own answer.
    read_timeout: float = 2.0
    #: New unanswered FAQ questions a town keeps a day (``AIZU_FAQ_NEW_PER_DAY``): the search is
    #: public, so past it only questions already on the staff's list are counted.
    faq_new_per_day: int = 300

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> PortalSettings:
        values: dict[str, float | int] = {}
        for name, field, kind in (("AIZU_PORTAL_READ_TIMEOUT", "read_timeout", float),
                                  ("AIZU_FAQ_NEW_PER_DAY", "faq_new_per_day", int)):
            if env.get(name):
                try:
                    values[field] = kind(env[name])
                except ValueError:
                    raise ValueError(f"{name} must be a number, not {env[name]!r}") from None
        return cls(**values)  # type: ignore[arg-type]
