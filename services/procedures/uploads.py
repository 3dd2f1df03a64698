"""Reading back the files a caller attached in the portal (``contracts/uploads.py``).

An answer ``{"upload": "<id>"}`` names an object in the uploads bucket. It is read only when it
was made by the same caller in the same town, and only up to the field's size limit; anything
else reads as a file that is no longer there, which the resident is asked to attach again.

A filed upload is left to expire with the bucket (an hour) rather than deleted: a second press of
the submit button, or a retry, names it again and must get the same answer as the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from contracts import uploads
from contracts.catalog import FieldDef
from services.runtime.files import FileBucket, Uploaded


def upload_ids(fields: Iterable[FieldDef], answers: Mapping[str, Any]) -> dict[str, str]:
    """The upload each attachment answer names, by field."""
    named: dict[str, str] = {}
    for field in fields:
        value = answers.get(field.name)
        if field.kind == "attachment" and isinstance(value, dict) and isinstance(value.get("upload"), str):
            named[field.name] = value["upload"]
    return named


async def read_uploads(
    bucket: FileBucket, tenant: str, subject: str, fields: Iterable[FieldDef], answers: Mapping[str, Any]
) -> dict[str, Uploaded]:
    """The uploads ``answers`` name that this caller may use, by upload id."""
    limits = {f.name: f.max_bytes or uploads.MAX_FILE_BYTES for f in fields}
    found: dict[str, Uploaded] = {}
    for name, upload_id in upload_ids(fields, answers).items():
        if (read := await bucket.read(tenant, subject, upload_id, limits[name])) is not None:
            found[upload_id] = read
    return found
