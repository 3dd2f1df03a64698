"""Files a resident attaches in the portal, held in a JetStream object store until filed.

A phone photo is several megabytes: too big for one bus message (NATS's max_payload is 1-2 MB)
and for the JSON API's body limit. The gateway streams each file of a signed-in caller's form
post into the ``aizu_uploads`` bucket, in chunks, and forwards only an ``Upload`` reference; the
procedures service reads the file back when the application is filed, checks it like any other
attachment and deletes it. What is never filed expires with the bucket's max age.

The object carries its owner (town and subject) in its headers: an upload is usable only by the
caller who made it, in the town it was made in.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

BUCKET = "aizu_uploads"
#: Seconds an upload waits to be filed (a resident correcting other answers keeps it meanwhile).
MAX_AGE = 3600
#: The largest single file accepted into the bucket; each procedure's field sets its own, smaller, limit.
MAX_FILE_BYTES = 20_000_000
#: The bucket's whole size unless ``AIZU_UPLOADS_MAX_BYTES`` says otherwise: a full bucket refuses
#: new files (the resident is asked to try again) rather than fill JetStream's disk.
BUCKET_MAX_BYTES = 2_000_000_000
#: The media types attachments may have, as people know them.
FILE_KINDS = {"image/jpeg": "JPEG", "image/png": "PNG", "application/pdf": "PDF"}

#: The longest file name carried; an answer's own limit is shorter, and said to the resident.
MAX_FILENAME_CHARS = 1000

HEADER_TENANT = "Aizu-Tenant"
HEADER_SUBJECT = "Aizu-Subject"
HEADER_MEDIA_TYPE = "Aizu-Media-Type"


class Upload(msgspec.Struct, frozen=True, kw_only=True):
    """A file in the bucket, by its object name (a random UUID), as the form posted it."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    #: As the browser sent it (bounded only): the answer's rules (answers.py) judge it, by name.
    filename: Annotated[str, msgspec.Meta(max_length=MAX_FILENAME_CHARS)]
    media_type: Annotated[str, msgspec.Meta(max_length=127)]
    size: int


class UploadedAnswer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An attachment answer that names an upload instead of carrying the file in base64."""

    upload: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
