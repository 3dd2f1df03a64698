"""The insights service's settings, read from the environment once, when the process starts."""

from __future__ import annotations

import msgspec

from services.runtime.settings import Environment, RuntimeSettings


class InsightsSettings(msgspec.Struct, frozen=True, kw_only=True):
    runtime: RuntimeSettings = RuntimeSettings()

    @classmethod
    def from_env(cls, env: Environment | None = None) -> InsightsSettings:
        return cls(runtime=RuntimeSettings.from_env(env))
