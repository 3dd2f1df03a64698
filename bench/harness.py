"""Shared benchmark machinery: real processes on loopback, wrk as the load generator, medians."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from services.runtime import local_servers

RESULTS = Path(__file__).parent / "results"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkRun:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> WrkRun:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return WrkRun(
        rps=rps, p50_ms=p50, p99_ms=p99, errors=errors + (int(non2xx.group(1)) if non2xx else 0), requests=requests
    )


def wrk(
    url: str,
    host: str,
    *,
    connections: int = 32,
    seconds: int = 10,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    script_args: Sequence[str] = (),
) -> WrkRun:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (or run `make bench`)")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Host: {host}"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    extra = ["--", *script_args] if script_args else []
    out = subprocess.run([*args, url, *extra], capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    return parse_wrk(out)


def median_run(runs: list[WrkRun]) -> WrkRun:
    return WrkRun(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        requests=sum(r.requests for r in runs),
    )


class Processes(ExitStack):
    """Child processes stopped in reverse order when the block ends, plus a scratch directory."""

    def __init__(self) -> None:
        super().__init__()
        self.scratch = Path(self.enter_context(tempfile.TemporaryDirectory(prefix="aizu-bench-")))

    def spawn(self, args: list[str], env: dict[str, str], port: int | None = None, name: str = "") -> None:
        log = open(self.scratch / f"{name or Path(args[-1]).name}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.callback(local_servers.stop, process)
        if port is not None:
            local_servers.wait_for_port(port, timeout=30, process=process)

    def nats(self) -> str:
        """A new nats-server with a store of its own: two servers on one store directory see each
        other's streams and stale consumer state (a second benchmark backend once inherited the
        first one's consumed work items as pending and replayed them ahead of its own)."""
        port = local_servers.free_port()
        process = local_servers.start_nats(Path(tempfile.mkdtemp(prefix="nats-", dir=self.scratch)), port)
        self.callback(local_servers.stop, process)
        return f"nats://127.0.0.1:{port}"


def wait_for_service(nats_url: str, service: str, timeout: float = 60.0) -> float:
    """Until a copy of ``service`` answers ``$SRV.PING`` (its endpoints are up; its background
    workers may still be starting); returns the seconds it took."""
    import asyncio

    import nats

    from contracts import subjects

    async def ping() -> float:
        nc = await nats.connect(nats_url)
        started = time.monotonic()
        try:
            while time.monotonic() - started < timeout:
                try:
                    await nc.request(subjects.ping(service), b"", timeout=1.0)
                    return time.monotonic() - started
                except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                    await asyncio.sleep(0.05)
            raise TimeoutError(f"no {service} service answered within {timeout} s")
        finally:
            await nc.close()

    return asyncio.run(ping())


def save(name: str, result: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=lambda o: asdict(o)), encoding="utf-8")
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", *args]
