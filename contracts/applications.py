"""Messages of applications: submission (online or at the counter), workflow, and their events."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from contracts import text
from contracts.payments import Payment, PaymentChoice, PaymentState

SUBMIT = "submit"
#: Validate a SubmitApplication and work out its fee without filing it (check your answers).
CHECK = "check"
LIST = "applications"
GET = "application"
TRANSITION = "transition"
RECEIPT = "receipt"
DOCUMENT = "document"
#: A filed attachment, put into the uploads bucket for the caller to fetch (``contracts/uploads.py``).
ATTACHMENT = "attachment"
#: A resident asks their town for a code to show at the counter (:class:`CounterCode`).
COUNTER_CODE = "counter_code"



class Status(StrEnum):
    """Where an application stands. Which may follow which, and who moves it, is the procedures'
    workflow (``services/procedures/workflow.py``)."""

    #: Its fee is to be paid online first; paying moves it to RECEIVED.
    AWAITING_PAYMENT = "awaiting_payment"
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


#: Statuses after which the town's work is done (processing times, overdue, the staff's open queue).
FINISHED: frozenset[Status] = frozenset({Status.APPROVED, Status.REJECTED, Status.ISSUED, Status.CLOSED, Status.WITHDRAWN})
#: Ended by a decision the resident did not take back (paid fees are owed only for these).
DECLINED: frozenset[Status] = frozenset({Status.REJECTED, Status.WITHDRAWN})


class Channel(StrEnum):
    """How an application was filed: by the resident online, or by a caseworker at the counter."""

    ONLINE = "online"
    COUNTER = "counter"


IdempotencyKey = Annotated[str, msgspec.Meta(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


#: What a resident's phone shows for the counter: eight digits, a hyphen in the middle optional.
LinkCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-?[0-9]{4}$")]


class CounterApplicant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The resident at the desk, as the caseworker confirmed them (e.g. from their My Number Card)."""

    name: text.name(100, min_length=1)
    address: text.name(200, min_length=1)
    birthdate: date
    #: The code the resident shows from their own portal, so the filing shows there too. An
    #: account is never named by the caseworker: the code links only a resident of this town who
    #: asked for it in the last half hour.
    link_code: LinkCode | None = None

    def __post_init__(self) -> None:
        # One spelling of a name however it was typed (か + ゙ or が): it is compared and shown.
        msgspec.structs.force_setattr(self, "name", text.nfc(self.name))
        msgspec.structs.force_setattr(self, "address", text.nfc(self.address))


class IssueCounterCode(msgspec.Struct, frozen=True, kw_only=True):
    """A signed-in resident asks their own town for a counter code; no fields."""


class CounterCode(msgspec.Struct, frozen=True, kw_only=True):
    #: ``1234-5678``: read out or shown at the desk.
    code: str
    expires_at: datetime


class Location(msgspec.Struct, frozen=True, kw_only=True):
    """Where a report is (a ``located`` procedure): a point (WGS 84), words for the place, or both."""

    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    long: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    #: The reporter's words for the place ("喜多方市役所前の交差点"), not anyone's postal address.
    address_string: text.line(200, min_length=1) | None = None

    def __post_init__(self) -> None:
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat and long go together")
        if self.lat is None and self.address_string is None:
            raise ValueError("a location needs lat and long, or address_string")


class SubmitApplication(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    answers: dict[str, Any] = {}
    #: Set only by a caseworker filing at the counter on a resident's behalf.
    counter_applicant: CounterApplicant | None = None
    #: Only for procedures that are ``located`` (reports).
    location: Location | None = None
    #: How a resident pays a fee: ``online`` (the application waits for it before the town sees
    #: it) or ``counter`` (filed at once, paid at the desk; also when not given).
    payment: PaymentChoice | None = None


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    #: Position in the town's hash chain; None until the change is sealed (well under a second).
    seq: int | None
    from_status: Status | None
    to_status: Status
    actor: str
    actor_role: str
    comment: str
    at: datetime
    #: The actor's name at the time ("" on changes from before names were kept).
    actor_name: str = ""


class ApplicationSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    tenant: str
    code: str
    procedure_name_ja: str
    procedure_name_en: str
    status: Status
    channel: Channel
    applicant_name: str
    submitted_at: datetime
    due_on: date | None
    assigned_to: str | None
    #: Where a report is (Open311), for the staff's map.
    location: Location | None = None
    #: 受付番号, ``KTK-2026-000123-4``: what people read, say and search by (the id stays internal);
    #: None for filings from before references.
    reference: str | None = None
    #: The fee for this application in whole yen, fixed when it was filed (0: free).
    fee_yen: int = 0
    #: Where its fee's payment stands; None when free.
    payment_state: PaymentState | None = None


class AttachmentInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A filed file; its content is fetched separately (``GET .../attachments/{field}``)."""

    field: str
    filename: str
    media_type: str
    size: int
    sha256: str


class ApplicationDetail(msgspec.Struct, frozen=True, kw_only=True):
    summary: ApplicationSummary
    #: An attachment's answer is the SHA-256 of its file; ``attachments`` names the file.
    answers: dict[str, Any]
    filed_by: str | None
    history: list[StatusChange]
    allowed_transitions: list[Status]
    attachments: list[AttachmentInfo] = []
    #: The fee's payment, when there is a fee.
    payment: Payment | None = None


class ApplicationList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ApplicationSummary]


class ListApplications(msgspec.Struct, frozen=True, kw_only=True):
    status: Status | None = None
    channel: Channel | None = None
    code: str | None = None
    #: 受付番号 as a person types or reads it: case, spaces and full-width forms do not matter.
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100


class GetApplication(msgspec.Struct, frozen=True, kw_only=True):
    id: str


class GetAttachment(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    field: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]


class Move(msgspec.Struct, frozen=True, kw_only=True):
    """The body of ``POST /api/v1/applications/{id}/transitions``: a :class:`Transition` without
    the id, which is in the path. Its text is checked as the transition's (a 422 naming it)."""

    to: Status
    comment: str = ""
    #: Assign the application to a caseworker (their subject) along with the move.
    assign_to: str | None = None
    #: A resident's answer to a request for information (needs_info → in_review).
    answers: dict[str, Any] = {}
    #: Staff only: the resident had to come to the counter for this step (to show an original,
    #: collect a paper copy…). Counted by the insights service: online completion means none.
    counter_visit: bool = False


class Transition(Move, frozen=True, kw_only=True):
    id: str
    comment: text.paragraph(2000) = ""


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    application_id: str
    #: Compact JWS signed by the town; check it at POST /api/v1/verify.
    receipt: str


class IssuedDocument(msgspec.Struct, frozen=True, kw_only=True):
    application_id: str
    #: Compact JWS signed by the town; its QR code is on the printable page.
    document: str
    #: A printable page (Japanese first) showing the content and the QR code of the signature.
    html: str


class Fee(msgspec.Struct, frozen=True, kw_only=True):
    """A fee in whole yen: ``unit_yen`` times ``quantity`` (通数, 点数) is ``total_yen``."""

    unit_yen: int
    quantity: int
    total_yen: int


class CheckedApplication(msgspec.Struct, frozen=True, kw_only=True):
    """What filing these answers would file, and what it would cost; nothing is stored."""

    code: str
    #: The answers as they would be filed; an attachment's answer is its file's SHA-256.
    answers: dict[str, Any]
    attachments: list[AttachmentInfo]
    fee: Fee
    #: Whether the fee can be paid online here (otherwise at the counter).
    online_payment: bool = False


class Submitted(msgspec.Struct, frozen=True, kw_only=True):
    application: ApplicationSummary
    #: The town's signed receipt (compact JWS), once receipts are issued.
    receipt: str | None = None


# Events, published to aizu.evt.<tenant>.application.<name> with Nats-Msg-Id = event_id.


class ApplicationSubmitted(msgspec.Struct, frozen=True, kw_only=True, tag="application.submitted"):
    event_id: str
    tenant: str
    application_id: str
    code: str
    channel: Channel
    applicant_subject: str | None
    at: datetime
    #: The online applicant's level of assurance (``jpki``: My Number Card); None at the counter.
    applicant_acr: str | None = None
    due_on: date | None = None
    #: What the resident reads (受付番号); None for filings from before references.
    reference: str | None = None


class ApplicationStatusChanged(msgspec.Struct, frozen=True, kw_only=True, tag="application.status_changed"):
    event_id: str
    tenant: str
    application_id: str
    code: str
    channel: Channel
    applicant_subject: str | None
    from_status: Status
    to_status: Status
    at: datetime
    submitted_at: datetime
    due_on: date | None
    #: The resident had to come to the counter for this step (see ``Transition.counter_visit``).
    counter_visit: bool = False
    reference: str | None = None
    #: The caseworker's words with the move (what they ask for, why it was refused), for the
    #: applicant's message; "" for the resident's own moves (their answer is not sent back to them).
    comment: str = ""


ApplicationEvent = ApplicationSubmitted | ApplicationStatusChanged
