"""The procedures service's settings, read from the environment once, when the process starts."""

from __future__ import annotations

import os
from typing import Annotated

import msgspec
from msgspec import field

from services.runtime.settings import Environment, PaymentSettings, RuntimeSettings, SettingsError, load, Settings


class ProceduresSettings(Settings, kw_only=True):
    runtime: RuntimeSettings = RuntimeSettings()
    payment: PaymentSettings = PaymentSettings()
    #: Seconds a town's catalog is kept in memory (0: read from the database every time).
    catalog_max_age: Annotated[float, msgspec.Meta(ge=0)] = field(default=30.0, name="AIZU_CATALOG_CACHE_SECONDS")
    #: Encrypts the towns' receipt-signing keys at rest; required outside development.
    signing_key_secret: str | None = field(default=None, name="AIZU_SIGNING_KEY_SECRET")

    @classmethod
    def from_env(cls, env: Environment | None = None) -> ProceduresSettings:
        env = os.environ if env is None else env
        settings = load(cls, env, runtime=RuntimeSettings.from_env(env), payment=load(PaymentSettings, env))
        if settings.signing_key_secret is None and not settings.runtime.development:
            raise SettingsError("AIZU_SIGNING_KEY_SECRET must be set outside development")
        return settings
