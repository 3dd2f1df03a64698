"""The JetStream buckets the gateway makes at start, on a real nats-server: the uploads bucket
(services/runtime/files.py), who may read what in it, and the sessions' key-value bucket."""

from __future__ import annotations

import nats
from nats.js.api import KeyValueConfig

from gateway.session_store import BUCKET, NatsKVStore
from services.runtime import local_servers
from services.runtime.files import FileBucket
from tests.test_portal_uploads import PNG


async def test_a_bucket_made_with_other_settings_is_used_as_it_is(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await FileBucket().create(nc.jetstream())
        again = FileBucket()  # AIZU_UPLOADS_MAX_BYTES changed since: the gateway still starts
        await again.create(nc.jetstream(), max_bytes=123456789)
        made = await again.put("kitakata", "s", "a.png", "image/png", PNG, len(PNG))
        assert (await again.read("kitakata", "s", made.id)).content == PNG
    finally:
        await nc.close()


async def test_a_file_in_the_bucket_is_read_only_by_its_maker_in_its_town(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        bucket = FileBucket()
        await bucket.create(nc.jetstream())
        made = await bucket.put("kitakata", "subject-a", "証明書.png", "image/png", PNG, len(PNG))
        assert (await bucket.read("kitakata", "subject-a", made.id)).content == PNG
        assert await bucket.read("aizuwakamatsu", "subject-a", made.id) is None  # the same subject, another town
        assert await bucket.read("kitakata", "subject-b", made.id) is None
        too_big = await bucket.read("kitakata", "subject-a", made.id, limit=len(PNG) - 1)
        assert too_big.content is None and too_big.size == len(PNG)
        await bucket.discard(made.id)
        assert await bucket.read("kitakata", "subject-a", made.id) is None
    finally:
        await nc.close()


async def test_the_sessions_bucket_made_with_other_settings_is_used_as_it_is(tmp_path) -> None:
    port = local_servers.free_port()
    server = local_servers.start_nats(tmp_path / "nats", port)
    try:
        nc = await nats.connect(f"nats://127.0.0.1:{port}")
        try:
            # Made before with other settings (by an operator, or an earlier version of the gateway).
            await nc.jetstream().create_key_value(KeyValueConfig(bucket=BUCKET, history=3))
            store = NatsKVStore()
            await store.open(nc.jetstream())
            await store.set("k", b"v", expires_in=60)
            assert await store.get("k") == b"v"
        finally:
            await nc.close()
    finally:
        local_servers.stop(server)
