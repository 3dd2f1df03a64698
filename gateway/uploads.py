"""Putting a form post's files into the uploads bucket (see ``contracts/uploads.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException, ServiceUnavailableException

from contracts import uploads
from contracts.principal import Principal
from services.runtime.files import FileBucket

#: Shown in the browser (staff read a photo or a scan at once); anything else is downloaded.
INLINE_TYPES = ("image/jpeg", "image/png")


async def put_file(bucket: FileBucket, tenant: str, who: Principal, file: UploadFile) -> uploads.Upload | None:
    """Stores one posted file; ``None`` for a file input left empty."""
    size = file.file.seek(0, 2)
    file.file.seek(0)
    if not file.filename and size == 0:
        return None
    if size > uploads.MAX_FILE_BYTES:
        raise ClientException(status_code=413, detail=f"a file may be at most {uploads.MAX_FILE_BYTES} bytes")
    media_type = file.content_type or "application/octet-stream"
    return await bucket.put(tenant, who.subject, file.filename or "", media_type, file.file, size)


async def put_files(bucket: FileBucket, tenant: str, who: Principal, posted: Any) -> dict[str, list[uploads.Upload]]:
    """Every file field of a parsed multipart form, by field name."""
    files: dict[str, list[uploads.Upload]] = {}
    for key in posted:
        for value in posted.getall(key):
            if isinstance(value, UploadFile) and (stored := await put_file(bucket, tenant, who, value)) is not None:
                files.setdefault(key, []).append(stored)
    return files


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real (Japanese) one UTF-8 encoded (RFC 8187)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def file_response(bucket: FileBucket, tenant: str, who: Principal, handed: uploads.Upload) -> Response[bytes]:
    """The file a service put into the bucket for ``who``, as the browser should receive it."""
    file = await bucket.read(tenant, who.subject, handed.id)
    if file is None or file.content is None:
        raise ServiceUnavailableException(detail="the file could not be handed over; please try again")
    kind = "inline" if file.media_type in INLINE_TYPES else "attachment"
    headers = {
        "Content-Disposition": content_disposition(kind, file.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
    }
    return Response(file.content, status_code=200, media_type=file.media_type, headers=headers)
