"""The uploads bucket (services/runtime/files.py) on a real nats-server: who may read what."""

from __future__ import annotations

import nats

from services.runtime.files import FileBucket
from tests.test_portal_uploads import PNG


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
