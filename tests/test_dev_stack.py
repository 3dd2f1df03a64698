"""`aizu dev` as `make dev` runs it: every process real, all 13 towns served within a minute."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from services.runtime import local_servers


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert process.poll() is None, "aizu dev stopped early"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready")


def test_aizu_dev_serves_every_town_and_stops_cleanly(tmp_path, region):
    nats_port, gateway_port, smtp_port = local_servers.free_port(), local_servers.free_port(), local_servers.free_port()
    env = local_servers.environment(
        AIZU_VAR_DIR=str(tmp_path / "var"),
        AIZU_DEV_NATS_PORT=str(nats_port),
        AIZU_DEV_SMTP_PORT=str(smtp_port),
        AIZU_GATEWAY_PORT=str(gateway_port),
        AIZU_LOG_LEVEL="WARNING",
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        _wait_ready(f"{base}/readyz", process, started + 60)
        for town in region.towns:
            response = httpx.get(f"{base}/api/v1/procedures", headers={"host": f"{town.slug}.localhost:{gateway_port}"})
            assert response.status_code == 200
            assert response.json()["tenant"] == town.slug
        council = httpx.get(f"{base}/api/v1/tenant", headers={"host": f"council.localhost:{gateway_port}"})
        assert council.json()["kind"] == "council"
        unknown = httpx.get(f"{base}/api/v1/procedures", headers={"host": f"nowhere.localhost:{gateway_port}"})
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
        assert time.monotonic() - started < 60
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=45)[0].decode()  # it gives its children 2 x 10 s at most
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output
    for town in region.towns:
        assert f"http://{town.slug}.localhost:{gateway_port}" in output
    assert f"http://council.localhost:{gateway_port}" in output
    # Every process it started has stopped: the ports are free again.
    for port in (nats_port, gateway_port, smtp_port):
        with __import__("socket").socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served"
    # Run again: the data is kept (the SQLite file and NATS store remain).
    assert (tmp_path / "var" / "procedures.db").exists()
    assert (tmp_path / "var" / "nats").is_dir()
    assert os.listdir(tmp_path / "var" / "nats")
