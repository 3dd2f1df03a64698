"""A town's quiet hours: when its outbound email and push may go, unless it is an emergency."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.tenants import QuietHours

TOKYO = ZoneInfo("Asia/Tokyo")


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def release_at(now: datetime, quiet: QuietHours, *, emergency: bool) -> datetime:
    """When an outbound message written at ``now`` may be sent (UTC).

    ``now`` itself outside the quiet hours, or for an emergency; else the end of the quiet hours
    (today's or tomorrow's, in Asia/Tokyo). The inbox does not ask: it always receives at once.
    """
    now = now.astimezone(UTC)
    start, end = _clock(quiet.start), _clock(quiet.end)
    if emergency or start == end:
        return now
    local = now.astimezone(TOKYO)
    clock = local.time().replace(tzinfo=None)
    spans_midnight = start > end
    quiet_now = (clock >= start or clock < end) if spans_midnight else (start <= clock < end)
    if not quiet_now:
        return now
    end_day = local.date()
    if spans_midnight and clock >= start:
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=TOKYO).astimezone(UTC)
