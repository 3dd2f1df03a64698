"""Settings: each process reads the environment once, into one typed object; nothing else reads it.

A bad value stops the start naming its variable; the deployment guide lists every variable read.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from gateway.settings import GatewaySettings
from services.devstack import DevSettings
from services.notifications.settings import NotificationsSettings
from services.procedures.settings import ProceduresSettings
from services.psp_standin.server import StandInSettings
from services.runner import SERVICES
from services.runtime.settings import PROJECT_ROOT, RuntimeSettings, SettingsError, load, variables

PROCESSES: list[type[msgspec.Struct]] = [
    GatewaySettings, DevSettings, StandInSettings, *(read.__self__ for read, _ in SERVICES.values()),  # type: ignore[attr-defined]
]
#: Where the environment may be read: the settings, and the helper that hands it to child processes.
READERS = {"services/runtime/settings.py", "services/runtime/local_servers.py"}


def test_every_process_has_one_settings_object_and_the_guide_lists_every_variable_it_reads() -> None:
    guide = (PROJECT_ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    read = set().union(*(variables(kind) for kind in PROCESSES))
    assert {"AIZU_SMTP_PORT", "AIZU_CATALOG_CACHE_SECONDS", "AIZU_GATEWAY_PORT", "AIZU_STREAM_REPLICAS"} <= read
    assert sorted(v for v in read if f"`{v}`" not in guide) == []


def test_no_module_but_the_settings_reads_the_environment() -> None:
    readers = []
    for package in ("contracts", "gateway", "services"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            if relative in READERS or path.name == "settings.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                    readers.append(f"{relative}:{node.lineno}")
    assert readers == []


@pytest.mark.parametrize(("kind", "name", "value"), [
    (NotificationsSettings, "AIZU_SMTP_PORT", "smtp"),
    (NotificationsSettings, "AIZU_SMTP_PORT", "70000"),
    (NotificationsSettings, "AIZU_SMTP_RETRY_SECONDS", "60,soon"),
    (NotificationsSettings, "AIZU_BROADCAST_CHUNK", "0"),
    (NotificationsSettings, "AIZU_ALERT_DEADLINE_SECONDS", "-1"),
    (NotificationsSettings, "AIZU_PUSH_ALLOW_HTTP", "maybe"),
    (ProceduresSettings, "AIZU_CATALOG_CACHE_SECONDS", "-5"),
    (ProceduresSettings, "AIZU_PSP_WINDOW_SECONDS", "half an hour"),
    (ProceduresSettings, "AIZU_STREAM_REPLICAS", "0"),
    (ProceduresSettings, "AIZU_REQUEST_TIMEOUT", "0"),
    (GatewaySettings, "AIZU_GATEWAY_PORT", "eighty"),
    (GatewaySettings, "AIZU_MAX_BODY_BYTES", "0"),
    (GatewaySettings, "AIZU_TRUSTED_PROXIES", "10.0.0.0/8,not-an-address"),
    (GatewaySettings, "AIZU_RATE_LIMIT_FAQ", "often"),
])
def test_a_bad_value_stops_the_start_naming_its_variable(kind: type, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        kind.from_env({name: value})


def test_values_are_converted_and_empty_counts_as_unset() -> None:
    settings = NotificationsSettings.from_env({
        "AIZU_BASE_DOMAIN": "aizu.example", "AIZU_SMTP_RETRY_SECONDS": "1, 2,3", "AIZU_PUSH_ALLOW_HTTP": "yes",
        "AIZU_SMTP_STARTTLS": "0", "AIZU_SMTP_USER": "", "AIZU_NATS_URL": "nats://a:4222,nats://b:4222",
        "AIZU_RATE_EMERGENCY_PUSH": "30,60", "AIZU_NOTIFICATIONS_DATABASE_URL": "sqlite+aiosqlite:///x.db",
    })
    assert settings.smtp.retry_backoff == (1.0, 2.0, 3.0) and settings.smtp.starttls is False
    assert settings.smtp.username is None and settings.push.allow_http is True
    # Worked out from another setting when not set itself.
    assert settings.smtp.sender == "noreply@{tenant}.aizu.example"
    assert settings.push.contact == "mailto:noreply@aizu.example"
    assert settings.runtime.bus.servers == ["nats://a:4222", "nats://b:4222"]
    assert settings.emergency_rate_limits["push"] == (30.0, 60.0)
    assert settings.runtime.database_url("notifications") == "sqlite+aiosqlite:///x.db"
    assert settings.runtime.database_url("insights").endswith("/var/insights.db")
    assert NotificationsSettings.from_env({"AIZU_SMTP_FROM": "town@example.jp"}).smtp.sender == "town@example.jp"
    assert GatewaySettings.from_env({"AIZU_GATEWAY_PORT": "8300"}).oidc_issuer == "http://localhost:8300/realms/aizu"
    assert load(RuntimeSettings, {"AIZU_STREAM_REPLICAS": "3"}).stream_replicas == 3


def test_secrets_are_required_outside_development() -> None:
    production = {"AIZU_ENV": "production"}
    with pytest.raises(SettingsError, match="AIZU_SIGNING_KEY_SECRET"):
        ProceduresSettings.from_env(production)
    with pytest.raises(SettingsError, match="AIZU_OIDC_CLIENT_SECRET"):
        GatewaySettings.from_env(production)
    with pytest.raises(SettingsError, match="AIZU_SECRET_KEY"):
        GatewaySettings.from_env({**production, "AIZU_OIDC_CLIENT_SECRET": "s"})
    gateway = GatewaySettings.from_env({**production, "AIZU_OIDC_CLIENT_SECRET": "s", "AIZU_SECRET_KEY": "k"})
    assert not gateway.development and not gateway.dev_issuer and gateway.listen_host == "0.0.0.0"


def test_a_service_started_with_a_bad_value_says_which_and_exits(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "AIZU_VAR_DIR": str(tmp_path), "AIZU_CATALOG_CACHE_SECONDS": "a while"}
    done = subprocess.run([sys.executable, "-m", "services.cli", "serve", "procedures"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "configuration error" in done.stderr and "AIZU_CATALOG_CACHE_SECONDS" in done.stderr


def test_a_blank_environment_name_is_production_and_a_wrong_one_is_refused() -> None:
    assert not RuntimeSettings.from_env({"AIZU_ENV": ""}).development
    assert not GatewaySettings.from_env({"AIZU_ENV": " ", "AIZU_OIDC_CLIENT_SECRET": "s", "AIZU_SECRET_KEY": "k"}).dev_issuer
    with pytest.raises(SettingsError, match="AIZU_ENV"):
        RuntimeSettings.from_env({"AIZU_ENV": "prod"})
    with pytest.raises(SettingsError, match="AIZU_LOG_LEVEL"):
        RuntimeSettings.from_env({"AIZU_LOG_LEVEL": "chatty"})


def test_settings_never_show_their_secrets() -> None:
    env = {"AIZU_ENV": "production", "AIZU_OIDC_CLIENT_SECRET": "client-s3cret", "AIZU_SECRET_KEY": "csrf-s3cret",
           "AIZU_NATS_PASSWORD": "nats-s3cret", "AIZU_SIGNING_KEY_SECRET": "sign-s3cret",
           "AIZU_PSP_SECRET_KEY": "psp-s3cret", "AIZU_SMTP_PASSWORD": "smtp-s3cret",
           "AIZU_PROCEDURES_DATABASE_URL": "postgresql+asyncpg://app:db-s3cret@db/procedures"}
    shown = " ".join(repr(s) for s in (GatewaySettings.from_env(env), ProceduresSettings.from_env(env),
                                       NotificationsSettings.from_env(env)))
    assert "s3cret" not in shown and "***" in shown and "AIZU" not in shown
    assert "request_timeout=5.0" in shown  # the rest is shown
