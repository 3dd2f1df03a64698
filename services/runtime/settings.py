"""Settings: typed Structs read from the environment once, when a process starts, and passed down.

Each field names its variable (``msgspec.field(name="AIZU_…")``); :func:`load` reads those the
Struct declares and converts them with msgspec, so a bad value stops the start with the variable
named (``Expected `int` >= 1 - at `$.AIZU_SMTP_PORT```). A variable set to the empty string counts
as unset. No other module reads the environment: a process builds its one settings object (a
service's ``Settings``, the gateway's ``GatewaySettings``) and hands the parts down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import field
from msgspec import inspect as mi

PROJECT_ROOT = Path(__file__).resolve().parents[2]

S = TypeVar("S", bound=msgspec.Struct)
Environment = Mapping[str, str]

_BOOLEANS = {"yes": "true", "on": "true", "no": "false", "off": "false"}


class SettingsError(ValueError):
    """A variable's value that cannot be used; the message names it."""


#: Fields whose values are never shown (a settings object logged or printed says ``***``).
SECRETS = frozenset({"password", "secret_key", "webhook_secret", "client_secret", "oidc_client_secret",
                     "signing_key_secret", "databases"})


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The base of every settings Struct: its repr hides secrets (passwords, keys, database URLs)."""

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'***' if name in SECRETS and getattr(self, name) else repr(getattr(self, name))}"
            for name in self.__struct_fields__
        )
        return f"{type(self).__name__}({shown})"


def load(kind: type[S], env: Environment | None = None, defaults: Mapping[str, Any] | None = None, **given: Any) -> S:
    """``kind`` from the variables its fields name. ``defaults``: by attribute name, values for
    fields whose variable is unset that depend on other settings; ``given``: fields already built
    (nested settings), by attribute name."""
    env = os.environ if env is None else env
    defaults = defaults or {}
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    values: dict[str, Any] = {}
    for f in info.fields:
        raw = env.get(f.encode_name, "").strip() if f.encode_name != f.name else ""
        if f.name in given:
            values[f.encode_name] = given[f.name]
        elif raw:
            values[f.encode_name] = _text(raw, f.type)
        elif f.name in defaults:
            values[f.encode_name] = defaults[f.name]
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from None


def _text(raw: str, kind: mi.Type) -> Any:
    """The variable's text in the shape msgspec converts: lists comma-separated, yes/no booleans."""
    for option in kind.types if isinstance(kind, mi.UnionType) else (kind,):
        if isinstance(option, (mi.ListType, mi.VarTupleType, mi.FrozenSetType, mi.SetType)):
            return [part.strip() for part in raw.split(",") if part.strip()]
        if isinstance(option, mi.BoolType):
            return _BOOLEANS.get(raw.lower(), raw)
    return raw


def variables(kind: type[msgspec.Struct]) -> set[str]:
    """The variables ``kind`` and the settings it holds read by name (the deployment guide lists them)."""
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    found = set()
    for f in info.fields:
        if isinstance(f.type, mi.StructType):
            found |= variables(f.type.cls)
        elif f.encode_name != f.name:
            found.add(f.encode_name)
    return found


class BusSettings(Settings, kw_only=True):
    servers: list[str] = field(default_factory=lambda: ["nats://127.0.0.1:4222"], name="AIZU_NATS_URL")
    user: str | None = field(default=None, name="AIZU_NATS_USER")
    password: str | None = field(default=None, name="AIZU_NATS_PASSWORD")
    request_timeout: Annotated[float, msgspec.Meta(gt=0)] = field(default=5.0, name="AIZU_REQUEST_TIMEOUT")


class TelemetrySettings(Settings, kw_only=True):
    """OpenTelemetry's own variables (its exporters read the rest of theirs themselves)."""

    #: Spans and metrics go to this collector.
    otlp_endpoint: str | None = field(default=None, name="OTEL_EXPORTER_OTLP_ENDPOINT")
    #: ``console``: printed instead.
    traces_exporter: str | None = field(default=None, name="OTEL_TRACES_EXPORTER")
    service_name: str | None = field(default=None, name="OTEL_SERVICE_NAME")

    @property
    def exporting(self) -> bool:
        """Whether spans are sent anywhere (they cost ~30% of a request, so none are made otherwise)."""
        return bool(self.otlp_endpoint) or self.traces_exporter == "console"


class RuntimeSettings(Settings, kw_only=True):
    """What every service process reads, whichever service it runs."""

    #: Set but empty: production (a blank line in an .env file must not open the development issuer).
    environment: Literal["development", "production"] = field(default="development", name="AIZU_ENV")
    #: The towns' sites are ``<town>.<base domain>``.
    base_domain: str = field(default="localhost", name="AIZU_BASE_DOMAIN")
    #: Where development keeps its databases, keys and mail (``var/`` at the project root).
    var_dir: str = field(default=str(PROJECT_ROOT / "var"), name="AIZU_VAR_DIR")
    #: The towns' configuration (None: ``tenants/`` at the project root).
    tenants_dir: str | None = field(default=None, name="AIZU_TENANTS_DIR")
    #: How many copies JetStream keeps of streams and buckets (3 on the production cluster).
    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = field(default=1, name="AIZU_STREAM_REPLICAS")
    #: Behind a pooler in transaction mode (PgBouncer): reads run in a transaction too (rls.py).
    transaction_pooling: bool = field(default=False, name="AIZU_DATABASE_TRANSACTION_POOLING")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = field(default="INFO", name="AIZU_LOG_LEVEL")
    bus: BusSettings = BusSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    #: Each service's database (``AIZU_<SERVICE>_DATABASE_URL``, ``AIZU_<SERVICE>_MIGRATION_DATABASE_URL``).
    databases: dict[str, str] = {}

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def var(self) -> Path:
        return Path(self.var_dir)

    @property
    def tenants(self) -> Path:
        from contracts.tenants import default_directory

        return Path(self.tenants_dir) if self.tenants_dir else default_directory()

    def database_url(self, service: str, *, migration: bool = False) -> str:
        """``AIZU_<SERVICE>_DATABASE_URL``; migrations may use another role (``..._MIGRATION_DATABASE_URL``);
        unset: SQLite in ``var/``."""
        prefix = f"AIZU_{service.upper()}"
        if migration and f"{prefix}_MIGRATION_DATABASE_URL" in self.databases:
            return self.databases[f"{prefix}_MIGRATION_DATABASE_URL"]
        return self.databases.get(f"{prefix}_DATABASE_URL") or f"sqlite+aiosqlite:///{self.var / f'{service}.db'}"

    @classmethod
    def from_env(cls, env: Environment | None = None) -> RuntimeSettings:
        env = os.environ if env is None else env
        blank = "AIZU_ENV" in env and not env["AIZU_ENV"].strip()
        return load(cls, env, defaults={"environment": "production"} if blank else None, bus=load(BusSettings, env), telemetry=load(TelemetrySettings, env), databases={k: v for k, v in env.items() if k.endswith("_DATABASE_URL") and v.strip()})


class PaymentSettings(Settings, kw_only=True):
    """The payment provider (Stripe's API; in development and tests our stand-in on loopback)."""

    #: The provider's API address; None: fees cannot be paid online (only at the counter).
    api_url: str | None = field(default=None, name="AIZU_PSP_URL")
    secret_key: str = field(default="", name="AIZU_PSP_SECRET_KEY")
    webhook_secret: str = field(default="", name="AIZU_PSP_WEBHOOK_SECRET")
    #: How long a resident's visit to the provider's page stays open.
    window_seconds: Annotated[int, msgspec.Meta(gt=0)] = field(default=1800, name="AIZU_PSP_WINDOW_SECONDS")
    #: How often refunds the provider could not take at once are tried again.
    retry_seconds: Annotated[float, msgspec.Meta(gt=0)] = field(default=30.0, name="AIZU_PSP_RETRY_SECONDS")
