"""`aizu dev` as `make dev` runs it: every process real, every printed URL answering the moment it
is printed, tokens for the port it runs on, and a signal to its process group stopping everything."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from services.runtime import local_servers

READY_LINE = "Aizu shared services are running"


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children in sessions of their own included), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str, **kwargs: object) -> httpx.Response:
    """``url`` through 127.0.0.1, its host in ``Host``: ``*.localhost`` need not resolve here."""
    parsed = httpx.URL(url)
    return httpx.get(parsed.copy_with(host="127.0.0.1"), headers={"host": parsed.netloc.decode(), **kwargs.pop("headers", {})}, **kwargs)  # type: ignore[arg-type]


def test_aizu_dev_prints_urls_that_answer_and_a_group_sigterm_stops_everything(tmp_path, region):
    nats_port, gateway_port, smtp_port = local_servers.free_port(), local_servers.free_port(), local_servers.free_port()
    env = local_servers.environment(
        AIZU_VAR_DIR=str(tmp_path / "var"),
        AIZU_DEV_NATS_PORT=str(nats_port),
        AIZU_DEV_SMTP_PORT=str(smtp_port),
        AIZU_GATEWAY_PORT=str(gateway_port),
        AIZU_LOG_LEVEL="WARNING",
    )
    env.pop("AIZU_OIDC_ISSUER", None)
    started = time.monotonic()
    # Its own process group, as `make dev` in a terminal: the test signals the group, as a closing
    # terminal or a supervisor does.
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            lines.append(raw.decode(errors="replace"))
            if READY_LINE in lines[-1]:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stopped = False
    try:
        assert ready.wait(90), "aizu dev printed no URLs:\n" + "".join(lines)
        time.sleep(0.5)  # the rest of the listing
        output = "".join(lines)
        printed = re.findall(r"http://[a-z]+\.localhost:\d+(?=\s)", output)
        for town in [*region.towns, region.council]:
            assert f"http://{town.slug}.localhost:{gateway_port}" in printed
        # At once, no retry: every printed town portal answers 200 (the council's dashboard asks
        # for sign-in), and every town's catalog is served.
        for town in region.towns:
            url = f"http://{town.slug}.localhost:{gateway_port}"
            assert _get(url).status_code == 200, url
        assert _get(f"http://council.localhost:{gateway_port}").status_code == 401
        for town in region.towns:
            response = _get(f"http://{town.slug}.localhost:{gateway_port}/api/v1/procedures")
            assert response.status_code == 200 and response.json()["tenant"] == town.slug
        unknown = _get(f"http://nowhere.localhost:{gateway_port}/api/v1/procedures")
        assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/problem+json")
        assert time.monotonic() - started < 90

        # `aizu dev token` with the same environment mints for this port's issuer: the gateway takes it.
        token = subprocess.run(
            [sys.executable, "-m", "services.cli", "dev", "token", "kitakata.resident"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()
        me = _get(f"http://kitakata.localhost:{gateway_port}/api/v1/me", headers={"authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text

        below = _descendants(process.pid)
        assert len(below) >= 6, below  # NATS, the SMTP sink, four services and the gateway
        # SIGTERM to the whole group, twice in a row: the second must not cut the clean-up short.
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(0.05)
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=45)  # it gives its children 2 x 10 s at most
        stopped = True
    finally:
        if not stopped:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    reader.join(5)
    assert process.returncode == 0, "".join(lines)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in below if _alive(pid)], "processes outlived aizu dev"
    for port in (nats_port, gateway_port, smtp_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served"
    # Run again: the data is kept (the SQLite file and NATS store remain).
    assert (tmp_path / "var" / "procedures.db").exists()
    assert os.listdir(tmp_path / "var" / "nats")


def test_aizu_dev_leaves_nothing_behind_when_killed_outright(tmp_path):
    """SIGKILL cannot be handled: the children are told by the kernel (parent-death signal)."""
    nats_port, gateway_port, smtp_port = local_servers.free_port(), local_servers.free_port(), local_servers.free_port()
    env = local_servers.environment(
        AIZU_VAR_DIR=str(tmp_path / "var"),
        AIZU_DEV_NATS_PORT=str(nats_port),
        AIZU_DEV_SMTP_PORT=str(smtp_port),
        AIZU_GATEWAY_PORT=str(gateway_port),
        AIZU_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        local_servers.wait_for_port(gateway_port, timeout=90, process=process)
        below = _descendants(process.pid)
        assert below
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in below if _alive(pid)], "processes outlived a killed aizu dev"
