"""Putting a form post's files into the uploads bucket (see ``contracts/uploads.py``)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.types import ASGIApp, Receive, Scope, Send
from nats.errors import Error as NatsError
from litestar.datastructures import UploadFile
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, ServiceUnavailableException

from contracts import uploads
from contracts.principal import Principal
from gateway.routes.signin import BINDING, BINDING_COOKIE
from gateway.tokens import InvalidToken
from services.runtime.files import FileBucket

#: Shown in the browser (staff read a photo or a scan at once); anything else is downloaded.
INLINE_TYPES = ("image/jpeg", "image/png")
#: The files one form may carry (no procedure asks for more than one; a second for a retry).
MAX_FILES_PER_FORM = 2
#: A page's form may carry a signed-in caller's files; any other post is held to the gateway's
#: usual body limit (``limit_forms``).
PAGE_BODY_LIMIT = MAX_FILES_PER_FORM * uploads.MAX_FILE_BYTES + 1_048_576


async def _signed_in(scope: Scope, headers: dict[str, str]) -> bool:
    """A session signed in from this browser (its binding cookie matches), or a token that
    verifies: a cookie or an ``Authorization`` header that merely looks right is not enough."""
    session = scope.get("session")
    if isinstance(session, dict) and session.get("access_token"):
        binding = ASGIConnection(scope).cookies.get(BINDING_COOKIE, "")
        return bool(binding) and secrets.compare_digest(str(session.get(BINDING, "")), binding)
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    try:
        await scope["app"].state.verifier.verify(token)
    except InvalidToken:
        return False
    return True


def limit_forms(app: ASGIApp) -> ASGIApp:
    """Route middleware, run before the CSRF check reads the form: only a multipart post from a
    signed-in caller (checked: the session and its binding cookie, or a verified token) may be
    larger than ``max_body_bytes``; an anonymous one stores nothing either way."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            limit = scope["app"].state.settings.max_body_bytes
            if headers.get("content-type", "").startswith("multipart/form-data") and await _signed_in(scope, headers):
                limit = PAGE_BODY_LIMIT
            length = headers.get("content-length", "")
            if not length.isdigit():
                raise ClientException(status_code=411, detail="a form post needs a Content-Length")
            if int(length) > limit:
                raise ClientException(status_code=413, detail=f"a form may be at most {limit} bytes")
        await app(scope, receive, send)

    return middleware


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
    chosen = [(key, value) for key in posted for value in posted.getall(key) if isinstance(value, UploadFile) and value.filename]
    if len(chosen) > MAX_FILES_PER_FORM:
        raise ClientException(status_code=413, detail=f"a form may carry at most {MAX_FILES_PER_FORM} files")
    files: dict[str, list[uploads.Upload]] = {}
    for key, value in chosen:
        try:
            stored = await put_file(bucket, tenant, who, value)
        except (NatsError, RuntimeError) as exc:  # the bucket full or NATS away: try again later
            raise ServiceUnavailableException(detail="the file could not be kept; please try again") from exc
        if stored is not None:
            files.setdefault(key, []).append(stored)
    return files


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real (Japanese) one UTF-8 encoded (RFC 8187)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def file_response(bucket: FileBucket, tenant: str, who: Principal, handed: uploads.Upload) -> Response[bytes]:
    """The file a service put into the bucket for ``who``, as the browser should receive it."""
    try:
        file = await bucket.read(tenant, who.subject, handed.id)
    finally:
        await bucket.discard(handed.id)  # handed over once: the copy need not wait out the hour
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
