"""Messages of broadcasts (town announcements, emergency alerts) and push-type notices (プッシュ型).

A broadcast is written by a town's tenant admin at the town's host, or by a council member at the
council's host (region-wide, all 13 towns). An emergency alert, and anything region-wide, goes out
only once a *second* person of the same town (or of the council) approved it; a town's
announcement goes at once. Released broadcasts are fanned out town by town into residents'
inboxes and queued on their outbound channel.

A notice rule (プッシュ型のお知らせ) picks residents of a town by attributes the town imported
(age, the youngest child's age, district) who consented to such notices; running it notifies
each matching resident once, however often it is run.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from contracts import text
from contracts.notifications import Body, Title

# Verbs of the notifications service (aizu.<tenant>.notifications.<verb>).
BROADCAST = "broadcast"
APPROVE_BROADCAST = "approve_broadcast"
BROADCASTS = "broadcasts"
GET_BROADCAST = "get_broadcast"
#: Emergency alerts that have not reached every town's inboxes in time (anyone may ask: no
#: personal data; the gateway's ``/readyz`` shows it).
ALERT_HEALTH = "alert_health"
NOTICE_RULES = "notice_rules"
PUT_NOTICE_RULE = "put_notice_rule"
PREVIEW_NOTICE_RULE = "preview_notice_rule"
RUN_NOTICE_RULE = "run_notice_rule"



class BroadcastKind(StrEnum):
    ANNOUNCEMENT = "announcement"
    EMERGENCY = "emergency"


class Target(StrEnum):
    """Who a broadcast is for."""

    #: Every resident of the town.
    TOWN = "town"
    #: Those of the listed districts.
    DISTRICTS = "districts"
    #: Every resident of every town (council only).
    REGION = "region"


class BroadcastStatus(StrEnum):
    PENDING_APPROVAL = "pending-approval"
    SENDING = "sending"
    SENT = "sent"


District = text.line(64, min_length=1)
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
#: The English texts are optional: an emergency must not wait for its translation.
OptionalTitle = text.line(200)
OptionalBody = text.paragraph(4000)
Reason = text.paragraph(400)


class NewBroadcast(msgspec.Struct, frozen=True, kw_only=True):
    kind: BroadcastKind
    title_ja: Title
    body_ja: Body
    #: Shown in English when given; Japanese is shown otherwise. Both or neither.
    title_en: OptionalTitle = ""
    body_en: OptionalBody = ""
    target: Target = Target.TOWN
    #: With ``target="districts"``: the town's districts (names as in tenants/<town>.toml).
    districts: Annotated[list[District], msgspec.Meta(max_length=50)] = []
    #: An emergency's banner shows on every page of the town until then (default: ``ALERT_HOURS``
    #: after release); in the future, at most ``MAX_ALERT_DAYS`` ahead.
    ends_at: datetime | None = None
    #: A new version of a released emergency alert (same target); once approved it replaces it
    #: and its residents are told it changed.
    corrects: Id | None = None
    #: Cancels a released emergency alert (its texts say so to the same residents); four eyes.
    cancels: Id | None = None


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """The body of ``POST /api/v1/broadcasts/{id}/approve`` (optional): an :class:`ApproveBroadcast`
    without the id, which is in the path."""

    #: Required when nobody would receive it (no resident of the target is imported): why it
    #: goes out anyway. Recorded with the approval.
    zero_recipients_reason: Reason = ""


class ApproveBroadcast(Approval, frozen=True, kw_only=True):
    id: Id


class GetBroadcast(msgspec.Struct, frozen=True, kw_only=True):
    id: Id


class AlertHealthQuery(msgspec.Struct, frozen=True, kw_only=True):
    pass


class ListBroadcasts(msgspec.Struct, frozen=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


class Reach(msgspec.Struct, frozen=True, kw_only=True):
    """How far a released broadcast got, summed over its towns."""

    towns: int
    #: Towns whose fan-out has finished.
    towns_done: int
    #: Residents targeted (counted when each town's fan-out began).
    residents: int
    #: Inbox messages written so far.
    inbox: int
    #: Outbound deliveries (email, push) queued so far.
    deliveries: int


class TownReach(msgspec.Struct, frozen=True, kw_only=True):
    """One town's fan-out of a released broadcast."""

    town: str
    residents: int
    inbox: int
    deliveries: int
    done: bool


class ChannelReach(msgspec.Struct, frozen=True, kw_only=True):
    """Outbound deliveries of one channel (email, push, webhook), by how far they got."""

    channel: str
    queued: int
    delivered: int
    failed: int


class Broadcast(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: BroadcastKind
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    target: Target
    districts: list[str]
    status: BroadcastStatus
    #: Whether it waits (waited) for a second person's approval.
    needs_approval: bool
    author: str
    approver: str | None
    created_at: datetime
    released_at: datetime | None
    reach: Reach
    #: Residents the target holds now (pending) or held at approval (released).
    recipients: int = 0
    #: Why it was approved with nobody to receive it.
    zero_recipients_reason: str = ""
    ends_at: datetime | None = None
    corrects: str | None = None
    cancels: str | None = None
    #: The approved correction or cancellation that ended this alert.
    replaced_by: str | None = None
    #: When it raised the alarm for not reaching every town's inboxes in time.
    alarm_at: datetime | None = None
    #: Town by town (released broadcasts).
    towns: list[TownReach] = []
    #: Channel by channel: read for one broadcast (``get_broadcast``), empty in lists.
    channels: list[ChannelReach] = []


class BroadcastList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Broadcast]


class BroadcastReleased(msgspec.Struct, frozen=True, kw_only=True, tag="broadcast.released"):
    """The work item of one town's fan-out, published to ``aizu.evt.<town>.broadcast.released``.

    Self-contained (texts included), so a town's fan-out never reads the council's rows.
    """

    event_id: str
    broadcast_id: str
    #: Where the broadcast was written: the town itself, or ``council``.
    origin: str
    tenant: str
    kind: BroadcastKind
    districts: list[str]
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    released_at: datetime


# --- push-type notices ---------------------------------------------------------------------------


class Criteria(msgspec.Struct, frozen=True, kw_only=True):
    """All given conditions must hold (ages in whole years, today in Asia/Tokyo)."""

    age_at_least: Annotated[int, msgspec.Meta(ge=0, le=130)] | None = None
    age_below: Annotated[int, msgspec.Meta(ge=1, le=130)] | None = None
    #: The household has a child younger than this many years (e.g. 3 for 児童手当 reminders).
    youngest_child_below: Annotated[int, msgspec.Meta(ge=1, le=30)] | None = None
    districts: Annotated[list[District], msgspec.Meta(max_length=50)] = []


class PutNoticeRule(msgspec.Struct, frozen=True, kw_only=True):
    """A new rule (``id`` None) or a change to one. The message is sent as written."""

    id: Id | None = None
    name_ja: Title
    name_en: Title
    criteria: Criteria
    title_ja: Title
    body_ja: Body
    title_en: Title
    body_en: Body


class NoticeRun(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    run_by: str
    run_at: datetime
    #: Consented residents matching at the time of the run.
    matched: int
    #: Of those, the ones notified by this run (the others had been notified before).
    notified: int


class NoticeRule(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name_ja: str
    name_en: str
    criteria: Criteria
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    #: Residents notified by this rule so far (each at most once).
    notified: int
    runs: list[NoticeRun]


class NoticeRuleList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[NoticeRule]


class ListNoticeRules(msgspec.Struct, frozen=True, kw_only=True):
    pass


class NoticeRuleRef(msgspec.Struct, frozen=True, kw_only=True):
    id: Id


class NoticePreview(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    #: Consented residents who match now.
    matched: int
    #: Of those, the ones a run would notify now (not notified before).
    would_notify: int
    #: Residents who match but did not consent to push-type notices (never notified).
    without_consent: int


# --- the town's news, as the portal's home page shows it (anyone may read it) ---------------------

NEWS = "news"


class ListNews(msgspec.Struct, frozen=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10


class NewsItem(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: BroadcastKind
    #: ``council`` for a region-wide broadcast, else the town.
    origin: str
    title_ja: str
    body_ja: str
    title_en: str
    body_en: str
    #: Empty: the whole town (or region).
    districts: list[str]
    sent_at: datetime
    #: An emergency's banner shows until then.
    ends_at: datetime | None = None
    #: A correction of an earlier alert (訂正), a cancellation of one (取消).
    corrects: str | None = None
    cancels: str | None = None


class StalledAlert(msgspec.Struct, frozen=True, kw_only=True):
    broadcast_id: str
    origin: str
    released_at: datetime
    #: Target towns whose inboxes are not all written yet.
    towns_pending: list[str]


class AlertHealth(msgspec.Struct, frozen=True, kw_only=True):
    #: Released emergency alerts past their deadline with towns still pending.
    stalled: list[StalledAlert]
    deadline_seconds: float


class News(msgspec.Struct, frozen=True, kw_only=True):
    #: Emergency alerts in force (before their end time, neither corrected nor cancelled), newest
    #: first: the banner on every page of the town.
    alerts: list[NewsItem]
    #: Everything released in the last ``NEWS_DAYS`` days, newest first.
    items: list[NewsItem]


#: How long an emergency's banner shows when its author gave no end time.
ALERT_HOURS = 48
MAX_ALERT_DAYS = 30
NEWS_DAYS = 60
