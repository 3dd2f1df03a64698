"""deploy/ describes every service the code has, the same way in Compose and in Kubernetes.

Read from the files as shipped: a service added to ``services/runner.py`` without its container,
NATS user, database roles, secrets and migration URL fails here, naming what is missing. The
NATS configs are checked by the real nats-server (``-t``); the live checks of the permissions and
of init.sql are in ``test_deploy_live.py``.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.runner import SERVICES as BUILT
from services.runtime import local_servers

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SERVICES = sorted(BUILT)
#: Every variable auth.conf reads, with a value NATS takes as a string.
NATS_ENV = {
    "NATS_CLUSTER_PASSWORD": "aizu-x", "NATS_ROUTES": "[nats://route:aizu-x@nats-2:6222]",
    "NATS_SYSTEM_PASSWORD": "aizu-x", "OPS_NATS_PASSWORD": "aizu-x", "GATEWAY_NATS_PASSWORD": "aizu-x",
    **{f"{s.upper()}_NATS_PASSWORD": "aizu-x" for s in SERVICES},
}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def k8s_documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if d]


def secrets() -> dict[str, dict[str, str]]:
    return {d["metadata"]["name"]: d["stringData"] for d in k8s_documents("secrets.example.yaml")}


def deployment(name: str) -> dict[str, Any]:
    return next(d for d in k8s_documents(f"{name}.yaml") if d["kind"] == "Deployment")


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines()
             if line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def required_outside_development() -> dict[str, set[str]]:
    """{component: variables} the code refuses to start without when AIZU_ENV is not development."""
    found: dict[str, set[str]] = {}
    for path in [*ROOT.glob("gateway/**/*.py"), *ROOT.glob("services/**/*.py")]:
        parts = path.relative_to(ROOT).parts
        component = "gateway" if parts[0] == "gateway" else parts[1]
        for name in re.findall(r"(AIZU_\w+) must be set outside development", path.read_text(encoding="utf-8")):
            found.setdefault(component, set()).add(name)
    return found


# --- Compose ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_compose_runs_each_service_as_its_own_nats_user_and_app_role(name: str) -> None:
    spec = compose()["services"].get(name)
    assert spec is not None, f"compose.yaml has no service {name!r}"
    env = spec["environment"]
    assert spec["command"] == ["serve", name]
    assert env["AIZU_NATS_USER"] == name
    assert env["AIZU_NATS_PASSWORD"].startswith(f"${{{name.upper()}_NATS_PASSWORD:?")
    url = env[f"AIZU_{name.upper()}_DATABASE_URL"]
    assert url.startswith(f"postgresql+asyncpg://{name}_app:") and url.endswith(f"@postgres:5432/{name}"), url
    assert {"nats-1", "postgres", "migrate"} <= set(spec["depends_on"]), spec["depends_on"]
    assert spec["environment"]["OTEL_SERVICE_NAME"] == f"aizu-{name}"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_migrates_every_service_database_as_its_owner(name: str) -> None:
    services = compose()["services"]
    url = services["migrate"]["environment"].get(f"AIZU_{name.upper()}_MIGRATION_DATABASE_URL")
    # Without it `aizu migrate` would migrate a SQLite file in the container and say "migrated".
    assert url is not None, f"migrate has no AIZU_{name.upper()}_MIGRATION_DATABASE_URL"
    assert url.startswith(f"postgresql+asyncpg://{name}_owner:") and url.endswith(f"/{name}"), url
    assert name in services["gateway"]["depends_on"], "the gateway's /readyz waits for every service"
    nats_env = compose()["x-nats-node"]["environment"]
    assert f"{name.upper()}_NATS_PASSWORD" in nats_env


def test_compose_gives_each_process_what_production_requires() -> None:
    services = compose()["services"]
    for component, names in required_outside_development().items():
        assert component in services, component
        missing = names - set(services[component]["environment"])
        assert not missing, f"{component} would not start in production without {sorted(missing)}"
    # Keycloak imports the gateway's client secret from its own environment.
    assert "AIZU_OIDC_CLIENT_SECRET" in services["keycloak"]["environment"]


def test_every_variable_compose_requires_is_in_env_example() -> None:
    lines = (DEPLOY / "compose.yaml").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{(\w+):\?", text))
    missing = required - set(env_example())
    assert not missing, f"deploy/.env.example lacks {sorted(missing)}"


def test_notifications_keeps_its_vapid_key_on_a_shared_volume() -> None:
    spec = compose()["services"]["notifications"]
    vapid = spec["environment"]["AIZU_VAPID_DIR"]
    mounts = {m.split(":")[1]: m.split(":")[0] for m in spec["volumes"]}
    assert mounts.get(vapid) in compose()["volumes"], f"{vapid} is not on a named volume: {mounts}"
    for key in ("AIZU_SMTP_HOST", "AIZU_SMTP_PORT", "AIZU_SMTP_STARTTLS"):
        assert key in spec["environment"], key


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_k8s_has_a_hardened_deployment_per_service(name: str) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert f"{name}.yaml" in kustomization["resources"], f"kustomization.yaml does not list {name}.yaml"
    pod = deployment(name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve", name]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["AIZU_NATS_USER"] == name and env["OTEL_SERVICE_NAME"] == f"aizu-{name}"
    assert {"name": f"aizu-{name}"} in [e["secretRef"] for e in container["envFrom"] if "secretRef" in e]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    assert pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": f"aizu-{name}"}
    # A read-only root: the process may write only to the mounted emptyDirs.
    assert {"/tmp", "/var/lib/aizu"} <= {m["mountPath"] for m in container["volumeMounts"]}


@pytest.mark.parametrize("name", SERVICES)
def test_k8s_secrets_carry_each_services_credentials_and_urls(name: str) -> None:
    shapes = secrets()
    own = shapes.get(f"aizu-{name}")
    assert own is not None, f"secrets.example.yaml has no Secret aizu-{name}"
    assert "AIZU_NATS_PASSWORD" in own
    assert own[f"AIZU_{name.upper()}_DATABASE_URL"].startswith(f"postgresql+asyncpg://{name}_app:")
    migration = shapes["aizu-migrate"].get(f"AIZU_{name.upper()}_MIGRATION_DATABASE_URL", "")
    assert migration.startswith(f"postgresql+asyncpg://{name}_owner:"), f"aizu-migrate lacks {name}'s owner URL"
    assert f"{name.upper()}_NATS_PASSWORD" in shapes["aizu-nats-passwords"]
    chart_env = yaml.safe_load((K8S / "nats-values.yaml").read_text())["container"]["env"]
    assert chart_env[f"{name.upper()}_NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "aizu-nats-passwords"


def test_k8s_secrets_give_each_process_what_production_requires() -> None:
    shapes = secrets()
    for component, names in required_outside_development().items():
        missing = names - set(shapes[f"aizu-{component}"])
        assert not missing, f"Secret aizu-{component} lacks {sorted(missing)}"


def test_k8s_notifications_reads_one_vapid_key_from_a_secret() -> None:
    pod = deployment("notifications")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    vapid = next(e["value"] for e in container["env"] if e["name"] == "AIZU_VAPID_DIR")
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == vapid)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "aizu-vapid" and not volume["secret"].get("optional")
    assert volume["secret"]["items"] == [{"key": "private_key.pem", "path": "private_key.pem"}]
    assert "private_key.pem" in secrets()["aizu-vapid"]
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]  # the file is 0440


def test_k8s_base_lists_a_deployment_for_every_process() -> None:
    """What `kubectl kustomize deploy/k8s` renders, read from the kustomization itself (no kubectl
    on a fresh machine): every listed resource exists and parses, and the Deployments among them
    are the gateway and every service."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    documents = [d for r in kustomization["resources"] for d in yaml.safe_load_all((K8S / r).read_text()) if d]
    names = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    assert names == {"aizu-gateway", *(f"aizu-{s}" for s in SERVICES)}
    assert all((K8S / env).is_file() for g in kustomization["configMapGenerator"] for env in g["envs"])


# --- PostgreSQL and NATS ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_init_sql_creates_each_database_with_an_owner_and_a_nobypassrls_app_role(name: str) -> None:
    sql = (DEPLOY / "postgres" / "init.sql").read_text()
    for role in (f"{name}_owner", f"{name}_app"):
        assert re.search(rf"CREATE ROLE {role}\s+LOGIN PASSWORD :'{role}_password'.*NOBYPASSRLS;", sql), role
        assert f"\\getenv {role}_password {role.upper()}_DB_PASSWORD" in sql
    assert re.search(rf"CREATE DATABASE {name}\s+OWNER {name}_owner", sql)
    assert re.search(rf"GRANT CONNECT, TEMPORARY ON DATABASE {name}\s+TO {name}_app;", sql)
    assert f"ALTER DEFAULT PRIVILEGES FOR ROLE {name}_owner IN SCHEMA public\n  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}_app;" in sql


@pytest.mark.parametrize("name", ["gateway", *SERVICES])
def test_auth_conf_has_a_user_per_process(name: str) -> None:
    conf = (DEPLOY / "nats" / "auth.conf").read_text()
    assert re.search(rf"user: {name},\s+password: \${name.upper()}_NATS_PASSWORD,\s+permissions: \${name.upper()}_PERMISSIONS", conf)


@pytest.mark.parametrize("node", [1, 2, 3])
def test_nats_server_accepts_each_node_config(node: int) -> None:
    checked = subprocess.run(
        [local_servers.nats_server_binary(), "-c", str(DEPLOY / "nats" / f"nats-{node}.conf"), "-t"],
        env=local_servers.environment(**NATS_ENV), capture_output=True, text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_nats_server_refuses_the_config_when_a_password_is_missing() -> None:
    env = local_servers.environment(**NATS_ENV)
    del env["NOTIFICATIONS_NATS_PASSWORD"]
    checked = subprocess.run(
        [local_servers.nats_server_binary(), "-c", str(DEPLOY / "nats" / "nats-1.conf"), "-t"],
        env=env, capture_output=True, text=True,
    )
    assert checked.returncode != 0 and "NOTIFICATIONS_NATS_PASSWORD" in checked.stderr


# --- The image -------------------------------------------------------------------------------


def test_the_package_ships_every_file_the_code_reads() -> None:
    """The image installs the package (not the tree): a data file outside package-data is missing
    there, e.g. the portal's map script, which the portal reads when it is imported."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    left_out = [
        str(p.relative_to(ROOT)) for top in ("contracts", "gateway", "services") for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc", ".md")
        and not any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)
    ]
    assert not left_out, f"not in [tool.setuptools.package-data]: {left_out}"
