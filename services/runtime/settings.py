"""Process settings, read once from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("AIZU_VAR_DIR", PROJECT_ROOT / "var"))


class BusSettings(msgspec.Struct, frozen=True, kw_only=True):
    servers: list[str]
    user: str | None = None
    password: str | None = None
    request_timeout: float = 5.0

    @classmethod
    def from_env(cls) -> "BusSettings":
        return cls(
            servers=os.environ.get("AIZU_NATS_URL", "nats://127.0.0.1:4222").split(","),
            user=os.environ.get("AIZU_NATS_USER") or None,
            password=os.environ.get("AIZU_NATS_PASSWORD") or None,
            request_timeout=float(os.environ.get("AIZU_REQUEST_TIMEOUT", "5")),
        )


def database_url(service: str, *, migration: bool = False) -> str:
    """``AIZU_<SERVICE>_DATABASE_URL``; migrations may use another role (``..._MIGRATION_DATABASE_URL``)."""
    key = f"AIZU_{service.upper()}_DATABASE_URL"
    if migration and os.environ.get(f"AIZU_{service.upper()}_MIGRATION_DATABASE_URL"):
        return os.environ[f"AIZU_{service.upper()}_MIGRATION_DATABASE_URL"]
    return os.environ.get(key) or f"sqlite+aiosqlite:///{VAR_DIR / f'{service}.db'}"
