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


class PaymentSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The payment provider (Stripe's API; in development and tests our stand-in on loopback)."""

    #: The provider's API address; None: fees cannot be paid online (only at the counter).
    api_url: str | None = None
    secret_key: str = ""
    webhook_secret: str = ""
    #: How long a resident's visit to the provider's page stays open.
    window_seconds: int = 1800
    #: How often refunds the provider could not take at once are tried again.
    retry_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> "PaymentSettings":
        return cls(
            api_url=os.environ.get("AIZU_PSP_URL") or None,
            secret_key=os.environ.get("AIZU_PSP_SECRET_KEY", ""),
            webhook_secret=os.environ.get("AIZU_PSP_WEBHOOK_SECRET", ""),
            window_seconds=int(os.environ.get("AIZU_PSP_WINDOW_SECONDS", "1800")),
            retry_seconds=float(os.environ.get("AIZU_PSP_RETRY_SECONDS", "30")),
        )
