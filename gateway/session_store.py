"""Browser sessions in a NATS key-value bucket, so every copy of the gateway sees the same ones.

Litestar's server-side sessions need a ``Store``; this one keeps Litestar's own storage object
(value plus expiry) in JetStream KV. The bucket's max age bounds how long any session can live.
"""

from __future__ import annotations

from datetime import timedelta

from litestar.stores.base import StorageObject, Store
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue

BUCKET = "aizu_sessions"
MAX_AGE = 12 * 3600


class NatsKVStore(Store):
    def __init__(self) -> None:
        self._kv: KeyValue | None = None

    async def open(self, js: JetStreamContext, replicas: int = 1) -> None:
        try:
            self._kv = await js.create_key_value(
                KeyValueConfig(bucket=BUCKET, ttl=MAX_AGE, storage=StorageType.FILE, replicas=replicas, history=1)
            )
        except BadRequestError:  # made with other settings (fewer replicas, say): use it as it is
            self._kv = await js.key_value(BUCKET)

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError("session store not opened")
        return self._kv

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        await self.kv.put(key, StorageObject.new(data=data, expires_in=expires_in).to_bytes())

    async def _object(self, key: str) -> StorageObject | None:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        stored = StorageObject.from_bytes(entry.value)
        if stored.expired:
            await self.delete(key)
            return None
        return stored

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        stored = await self._object(key)
        if stored is None:
            return None
        if renew_for and stored.expires_at:
            await self.set(key, stored.data, renew_for)
        return stored.data

    async def delete(self, key: str) -> None:
        try:
            await self.kv.purge(key)
        except KeyNotFoundError:
            pass

    async def delete_all(self) -> None:
        for key in await self.keys():
            await self.delete(key)

    async def keys(self) -> list[str]:
        try:
            return await self.kv.keys()
        except NoKeysError:
            return []

    async def exists(self, key: str) -> bool:
        return await self._object(key) is not None

    async def expires_in(self, key: str) -> int | None:
        stored = await self._object(key)
        return stored.expires_in if stored else None
