"""The ``aizu_uploads`` object store (``contracts/uploads.py``): files too big for a bus message.

The gateway puts what residents attach and reads what a service hands back for download; the
procedures service reads the attachments and puts a filed one for its download. Every object
names its owner (town and subject) in its headers, and is read only by that owner.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from typing import IO

import msgspec
from nats.js import JetStreamContext
from nats.js.api import ObjectInfo, ObjectMeta, ObjectStoreConfig, StorageType
from nats.errors import Error as NatsError
from nats.js.errors import BadRequestError, NotFoundError
from nats.js.object_store import ObjectStore

from contracts import uploads
from contracts.errors import ErrorCode, failure

log = logging.getLogger(__name__)
#: Seconds to read back the largest file (20 MB in 128 KB chunks takes well under one here),
#: inside the bus request that needs it.
READ_TIMEOUT = 4.0


class Uploaded(msgspec.Struct, frozen=True, kw_only=True):
    """A file read back; ``content`` is None when it was over the reader's limit (left unread)."""

    filename: str
    media_type: str
    size: int
    content: bytes | None


def _header(info: ObjectInfo, name: str) -> str | None:
    values = (info.headers or {}).get(name)
    return (values[0] if values else None) if isinstance(values, list) else values


class FileBucket:
    def __init__(self) -> None:
        self._js: JetStreamContext | None = None
        self._store: ObjectStore | None = None

    async def create(self, js: JetStreamContext, replicas: int = 1, max_bytes: int = uploads.BUCKET_MAX_BYTES) -> None:
        """Make the bucket (the gateway does, at start, with its settings' size) and use it."""
        self._js = js
        config = ObjectStoreConfig(
            description="Files attached in the portal, and filed ones handed out for download",
            ttl=uploads.MAX_AGE,
            # Bounded: it shares JetStream's disk with the events, the audit trail and the sessions.
            max_bytes=max_bytes,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        try:
            self._store = await js.create_object_store(uploads.BUCKET, config)
        except BadRequestError:
            # It exists with other settings (an operator's, or an earlier size): use it as it is.
            log.warning("the %s bucket exists with other settings; using it unchanged", uploads.BUCKET)
            self._store = await js.object_store(uploads.BUCKET)

    def attach(self, js: JetStreamContext) -> None:
        """Use the bucket once it exists (a service that starts before any gateway)."""
        self._js = js

    async def _bucket(self) -> ObjectStore | None:
        if self._store is None and self._js is not None:
            try:
                self._store = await self._js.object_store(uploads.BUCKET)
            except NotFoundError:
                return None  # no gateway has made it yet: nothing is in it
        return self._store

    async def put(self, tenant: str, subject: str, filename: str, media_type: str, data: bytes | IO[bytes], size: int) -> uploads.Upload:
        store = await self._bucket()
        if store is None:
            raise RuntimeError(f"the {uploads.BUCKET} bucket does not exist")
        upload = uploads.Upload(id=str(uuid.uuid4()), filename=filename[:uploads.MAX_FILENAME_CHARS], media_type=media_type[:127], size=size)
        headers = {uploads.HEADER_TENANT: [tenant], uploads.HEADER_SUBJECT: [subject], uploads.HEADER_MEDIA_TYPE: [upload.media_type]}
        await store.put(upload.id, data, meta=ObjectMeta(name=upload.id, description=upload.filename, headers=headers))
        return upload

    async def read(self, tenant: str, subject: str, upload_id: str, limit: int = uploads.MAX_FILE_BYTES) -> Uploaded | None:
        """The file, if ``subject`` of ``tenant`` made it; its content only up to ``limit`` bytes."""
        store = await self._bucket()
        if store is None:
            return None
        try:
            info = await store.get_info(upload_id)
        except NotFoundError:
            return None
        if _header(info, uploads.HEADER_TENANT) != tenant or _header(info, uploads.HEADER_SUBJECT) != subject:
            log.warning("upload %s asked for by %s in %s, who did not make it", upload_id, subject, tenant)
            return None
        found = Uploaded(filename=info.description or "", media_type=_header(info, uploads.HEADER_MEDIA_TYPE) or "",
                         size=info.size or 0, content=None)
        if found.size > limit:
            return found
        content = io.BytesIO()  # written chunk by chunk (nats.py's own buffer is grown by copying)
        try:
            # nats.py waits for the chunks without a limit of its own.
            await asyncio.wait_for(store.get(upload_id, writeinto=content), READ_TIMEOUT)
        except NotFoundError:
            return None
        except (TimeoutError, NatsError) as exc:  # slow, away, or a digest that does not match
            log.warning("could not read upload %s: %r", upload_id, exc)
            raise failure(ErrorCode.UNAVAILABLE, "File not readable now", "the attached file could not be read; try again") from exc
        return msgspec.structs.replace(found, content=content.getvalue())

    async def discard(self, upload_id: str) -> None:
        """Deletes an object once it has been handed over (best effort: the max age removes it anyway)."""
        store = await self._bucket()
        if store is None:
            return
        try:
            await store.delete(upload_id)
        except (NotFoundError, NatsError, TimeoutError) as exc:
            log.warning("could not delete upload %s: %r", upload_id, exc)
