"""The insights service end to end: events → JetStream → insights → figures, CSV and charts.

Real servers throughout: nats-server, PostgreSQL (as a NOBYPASSRLS app role) or SQLite, the
procedures service and the gateway served by uvicorn. Tests that publish events of their own
give them a week of the past nobody else uses, so their figures are theirs alone.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import nats
import pytest

from contracts import headers as h
from contracts import insights as msg
from contracts import subjects
from contracts.applications import ApplicationStatusChanged, ApplicationSubmitted, Transition
from contracts.principal import Principal, encode
from contracts.notifications import DeliveryFinished
from contracts.payments import PaymentSettled
from services.insights.events import standard_days
from tests.conftest import BACKENDS, gateway_client, running_insights, running_procedures

TOKYO = ZoneInfo("Asia/Tokyo")
METRICS = "/api/v1/metrics/towns"
COUNCIL = {"host": "council.localhost"}

same_backend = pytest.mark.parametrize(
    ("procedures_db", "insights_db"), [(b, b) for b in BACKENDS], ids=list(BACKENDS), indirect=True
)


def host(town: str) -> dict[str, str]:
    return {"host": f"{town}.localhost"}


_weeks = itertools.count()


def a_week_of_our_own() -> date:
    """A Monday of 2001 onwards that no other test of this session uses, with two weeks to spare
    after it (events keep their own dates; each backend's database is new each session)."""
    return date(2001, 1, 1) + timedelta(weeks=3 * next(_weeks))


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), TOKYO)


COUNCIL_MEMBER = Principal(subject="council.member", roles=("council",), tenant="council", acr="aal2")


def admin(town: str) -> Principal:
    return Principal(subject=f"{town}.admin", roles=("tenant-admin",), tenant=town, acr="aal2")


async def publish(nc: nats.NATS, event: Any, msg_id: str | None = None) -> None:
    if isinstance(event, DeliveryFinished):
        subject = subjects.event(event.tenant, "delivery", "finished")
    elif isinstance(event, PaymentSettled):
        subject = subjects.event(event.tenant, "payment", "settled")
    else:
        name = "status_changed" if isinstance(event, ApplicationStatusChanged) else "submitted"
        subject = subjects.event(event.tenant, "application", name)
    await nc.jetstream().publish(subject, msgspec.json.encode(event), headers={"Nats-Msg-Id": msg_id or event.event_id})


def submitted(town: str, day: date, channel: str = "online", acr: str | None = "jpki", due: date | None = None,
              application_id: str | None = None) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        event_id=str(uuid.uuid4()), tenant=town, application_id=application_id or str(uuid.uuid4()),
        code="juminhyo-copy", channel=channel, applicant_subject=None if channel == "counter" else "someone",
        at=at(day), applicant_acr=acr if channel == "online" else None, due_on=due,
    )


def changed(first: ApplicationSubmitted, to: str, day: date, counter_visit: bool = False) -> ApplicationStatusChanged:
    return ApplicationStatusChanged(
        event_id=str(uuid.uuid4()), tenant=first.tenant, application_id=first.application_id, code=first.code,
        channel=first.channel, applicant_subject=first.applicant_subject, from_status="in_review", to_status=to,
        at=at(day, 15), submitted_at=first.at, due_on=first.due_on, counter_visit=counter_visit,
    )


def delivery(town: str, day: date, outcome: str = "delivered") -> DeliveryFinished:
    return DeliveryFinished(
        event_id=str(uuid.uuid4()), tenant=town, delivery_id=str(uuid.uuid4()), channel="email", outcome=outcome,
        kind="application.status_changed", occurred_at=at(day, 16),
    )


def paid(town: str, day: date, method: str = "online", kind: str = "payment",
         application_id: str | None = None) -> PaymentSettled:
    return PaymentSettled(
        event_id=str(uuid.uuid4()), tenant=town, application_id=application_id or str(uuid.uuid4()), kind=kind,  # type: ignore[arg-type]
        method=method, amount_yen=600 if kind == "payment" else -600, at=at(day, 11),  # type: ignore[arg-type]
    )


async def ask(nats_url: str, tenant: str, verb: str, message: msgspec.Struct, principal: Principal) -> tuple[bytes, dict]:
    nc = await nats.connect(nats_url)
    try:
        reply = await nc.request(subjects.request(tenant, subjects.INSIGHTS, verb), msgspec.json.encode(message),
                                 timeout=10, headers={h.PRINCIPAL: encode(principal)})
    finally:
        await nc.close()
    return reply.data, reply.headers or {}


async def figures(nats_url: str, start: date, end: date, tenant: str = "council",
                  principal: Principal = COUNCIL_MEMBER) -> msg.TownsMetrics:
    data, headers = await ask(nats_url, tenant, msg.TOWNS, msg.MetricsQuery(from_=start, to=end), principal)
    assert h.SERVICE_ERROR_CODE not in headers, data
    return msgspec.json.decode(data, type=msg.TownsMetrics)


def town(metrics: msg.TownsMetrics, slug: str) -> msg.TownFigures:
    return next(t for t in metrics.towns if t.town == slug)


@pytest.fixture
async def insights(nats_url, insights_db, region):
    async with running_insights(nats_url, insights_db, region) as service:
        nc = await nats.connect(nats_url)
        service.publisher = nc
        try:
            yield service
        finally:
            await nc.close()


async def caught_up(service) -> None:
    for part in ("applications", "deliveries", "payments"):
        await getattr(service.app.components, part).caught_up(timeout=20)


# The figures, computed from events.


async def test_every_figure_of_a_town_from_its_events(insights, nats_url, region):
    monday = a_week_of_our_own()
    nc, town_slug = insights.publisher, "bandai"
    past_due = monday + timedelta(days=2)
    online = [submitted(town_slug, monday, acr="jpki", due=past_due) for _ in range(5)]
    online.append(submitted(town_slug, monday, acr="aal1", due=past_due))
    counter = [submitted(town_slug, monday, channel="counter", due=past_due) for _ in range(4)]
    events: list[Any] = [*online, *counter]
    # Five online filings finish online: three within two working days, two late (Friday).
    events += [changed(a, "approved", monday + timedelta(days=1)) for a in online[:3]]
    events += [changed(a, "issued", monday + timedelta(days=4)) for a in online[3:5]]
    # One online filing needed the resident at the counter; one counter filing finishes; one is withdrawn.
    events.append(changed(online[5], "approved", monday + timedelta(days=1), counter_visit=True))
    events.append(changed(counter[0], "rejected", monday + timedelta(days=2)))
    events.append(changed(counter[1], "withdrawn", monday))
    # A later status of a finished application changes nothing about when it finished.
    events.append(changed(online[0], "closed", monday + timedelta(days=4)))
    events += [delivery(town_slug, monday) for _ in range(6)] + [delivery(town_slug, monday, "permanent-failure")]
    for event in events:
        await publish(nc, event)
    await caught_up(insights)

    got = town(await figures(nats_url, monday, monday + timedelta(days=6)), town_slug)
    standard = float(standard_days(region, town_slug, "juminhyo-copy"))
    assert got == msg.TownFigures(
        town="bandai", name_ja="磐梯町", name_en=got.name_en,
        filings=10, online_filings=6, online_filing_rate=0.6,
        finished=7, online_completion_rate=round(5 / 7, 4),
        # Working days: 1, 1, 1, 4, 4 (online), 1 (counter visit), 2 (rejected).
        median_processing_days=1.0, standard_processing_days=standard,
        # Late: two finished on Friday after a Wednesday due date, two counter filings still open.
        overdue=None, deliveries=7, delivery_rate=round(6 / 7, 4), card_verified_share=round(5 / 6, 4),
        fees_paid=0, suppressed=["overdue"],  # no fee paid: zero, and no share
    )


async def test_the_share_of_fees_paid_online_counts_each_application_once(insights, nats_url):
    """payment.settled events from procedures: one fee per application however often it is told
    (a replay, a refund afterwards), in the window of its payment; few payments are withheld."""
    monday = a_week_of_our_own()
    nc = insights.publisher
    online = [paid("aizumisato", monday, "online") for _ in range(6)]
    counter = [paid("aizumisato", monday + timedelta(days=1), method) for method in ("cash", "card")]
    for event in [*online, *counter]:
        await publish(nc, event)
    # The same payment again under another event id, a refund of one, a payment after the window.
    await publish(nc, msgspec.structs.replace(online[0], event_id=str(uuid.uuid4())))
    await publish(nc, paid("aizumisato", monday + timedelta(days=2), "online", kind="refund",
                           application_id=online[1].application_id))
    await publish(nc, paid("aizumisato", monday + timedelta(days=8), "cash"))
    for _ in range(3):
        await publish(nc, paid("yanaizu", monday, "online"))
    await caught_up(insights)

    metrics = await figures(nats_url, monday, monday + timedelta(days=6))
    aizumisato, yanaizu = town(metrics, "aizumisato"), town(metrics, "yanaizu")
    assert (aizumisato.fees_paid, aizumisato.paid_online_share) == (8, 0.75)
    assert (yanaizu.fees_paid, yanaizu.paid_online_share) == (None, None)
    assert {"fees_paid", "paid_online_share"} <= set(yanaizu.suppressed)
    assert metrics.regional_median.towns["paid_online_share"] >= 1
    # The second week holds the late counter payment only (one: withheld).
    later = town(await figures(nats_url, monday + timedelta(days=7), monday + timedelta(days=13)), "aizumisato")
    assert later.fees_paid is None and "fees_paid" in later.suppressed
    # The open-data CSV carries both figures.
    data, _ = await ask(nats_url, "council", msg.TOWNS_CSV, msg.MetricsQuery(from_=monday, to=monday + timedelta(days=6)),
                        COUNCIL_MEMBER)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    row = dict(zip(rows[0], next(r for r in rows if r[2] == "aizumisato")))
    assert (row["手数料の支払件数 / fees_paid"], row["手数料のオンライン支払率 / paid_online_share"]) == ("8", "0.75")


async def test_a_count_under_five_is_withheld_with_its_rates(insights, nats_url):
    monday = a_week_of_our_own()
    nc = insights.publisher
    for _ in range(3):
        await publish(nc, submitted("showa", monday))
    for channel in ("online", "online", "counter", "counter", "counter", "counter", "counter"):
        await publish(nc, submitted("yugawa", monday, channel=channel))
    await caught_up(insights)

    metrics = await figures(nats_url, monday, monday)
    showa, yugawa, kaneyama = town(metrics, "showa"), town(metrics, "yugawa"), town(metrics, "kaneyama")
    assert (showa.filings, showa.online_filings, showa.online_filing_rate) == (None, None, None)
    assert {"filings", "online_filings", "online_filing_rate", "card_verified_share"} <= set(showa.suppressed)
    # Seven filings are shown; the two online ones are not, nor the rate that would reveal them.
    assert (yugawa.filings, yugawa.online_filings, yugawa.online_filing_rate) == (7, None, None)
    assert "online_filings" in yugawa.suppressed and "filings" not in yugawa.suppressed
    # No filings at all: zero, and a rate of nothing is no data, not a secret.
    assert (kaneyama.filings, kaneyama.online_filing_rate, kaneyama.suppressed) == (0, None, [])
    # Nothing withheld leaks into the regional median: it counts only published figures.
    assert metrics.regional_median.towns["online_filing_rate"] == 0
    assert metrics.regional_median.online_filing_rate is None


async def test_the_same_event_twice_is_counted_once(insights, nats_url):
    monday = a_week_of_our_own()
    nc = insights.publisher
    consumer = insights.app.components.applications
    events = [submitted("yanaizu", monday) for _ in range(5)]
    for event in events:
        await publish(nc, event)
    # Again, under another Nats-Msg-Id (as after the stream's duplicate window): the stream keeps it.
    await publish(nc, events[0], msg_id=str(uuid.uuid4()))
    await publish(nc, events[1])  # the same Nats-Msg-Id: JetStream drops it itself
    before = consumer.duplicates
    await caught_up(insights)
    assert consumer.duplicates - before == 1
    assert town(await figures(nats_url, monday, monday), "yanaizu").filings == 5


async def test_an_event_that_lies_about_its_town_or_cannot_be_read_counts_nowhere(insights, nats_url):
    monday = a_week_of_our_own()
    nc = insights.publisher
    js = nc.jetstream()
    for _ in range(5):
        await publish(nc, submitted("aizubange", monday))
    liar = submitted("aizumisato", monday)
    await js.publish(subjects.event("aizubange", "application", "submitted"), msgspec.json.encode(liar),
                     headers={"Nats-Msg-Id": liar.event_id})
    await js.publish(subjects.event("aizubange", "application", "submitted"), b'{"type": "application.submitted"}',
                     headers={"Nats-Msg-Id": str(uuid.uuid4())})
    await caught_up(insights)
    metrics = await figures(nats_url, monday, monday)
    assert town(metrics, "aizubange").filings == 5
    assert town(metrics, "aizumisato").filings == 0


async def test_weekly_trends_and_the_regional_median(insights, nats_url):
    monday = a_week_of_our_own()
    nc = insights.publisher
    # Week 1: three towns, all online; week 2: the same towns, half online or less.
    for slug in ("mishima", "kaneyama", "showa"):
        for _ in range(5):
            await publish(nc, submitted(slug, monday))
        for channel in ("online",) * 5 + ("counter",) * 5:
            await publish(nc, submitted(slug, monday + timedelta(days=7), channel=channel))
    await caught_up(insights)
    data, headers = await ask(nats_url, "council", msg.TRENDS,
                              msg.MetricsQuery(from_=monday + timedelta(days=3), to=monday + timedelta(days=9)),
                              COUNCIL_MEMBER)
    assert h.SERVICE_ERROR_CODE not in headers, data
    trends = msgspec.json.decode(data, type=msg.Trends)
    assert [w.week_start for w in trends.regional_median] == [monday, monday + timedelta(days=7)]
    # The first week is cut to the window (from Thursday): the Monday filings fall outside it.
    assert [w.median.online_filing_rate for w in trends.regional_median] == [None, 0.5]
    mishima = next(t for t in trends.towns if t.town == "mishima")
    assert [w.figures.filings for w in mishima.weeks] == [0, 10]
    assert len(trends.towns) == 13

    whole = await figures(nats_url, monday, monday + timedelta(days=13))
    assert town(whole, "mishima").online_filing_rate == round(10 / 15, 4)
    assert whole.regional_median.online_filing_rate == round(10 / 15, 4)
    assert whole.regional_median.towns["online_filing_rate"] == 3


# Authorisation, over the bus (the service re-checks) and through the gateway.


async def test_the_service_shows_a_tenant_admin_their_own_town_only(insights, nats_url):
    monday = a_week_of_our_own()
    for _ in range(5):
        await publish(insights.publisher, submitted("kitakata", monday))
    await caught_up(insights)
    mine = await figures(nats_url, monday, monday, tenant="kitakata", principal=admin("kitakata"))
    assert [t.town for t in mine.towns] == ["kitakata"] and mine.towns[0].filings == 5
    other = await figures(nats_url, monday, monday, tenant="aizuwakamatsu", principal=admin("aizuwakamatsu"))
    assert [t.town for t in other.towns] == ["aizuwakamatsu"] and other.towns[0].filings == 0
    refused = [
        ("kitakata", admin("aizuwakamatsu")),  # another town's admin naming kitakata in the subject
        ("kitakata", Principal(subject="cw", roles=("caseworker",), tenant="kitakata")),
        ("kitakata", Principal(subject="r", roles=("resident",), tenant="kitakata", acr="jpki")),
        ("council", admin("kitakata")),
        ("kitakata", COUNCIL_MEMBER),
    ]
    for tenant, principal in refused:
        data, headers = await ask(nats_url, tenant, msg.TOWNS, msg.MetricsQuery(), principal)
        assert headers.get(h.SERVICE_ERROR_CODE) == "403", (tenant, principal)
        assert b"filings" not in data


async def test_only_the_council_and_a_towns_admin_get_the_figures(insights, nats_url, region):
    today = datetime.now(TOKYO).date().isoformat()
    window = {"from": today, "to": today}
    async with gateway_client(region, nats_url, host="kitakata.localhost") as client:
        for user, where in [("kitakata.resident", "kitakata"), ("kitakata.caseworker", "kitakata"),
                            ("aizuwakamatsu.admin", "kitakata"), ("council.member", "kitakata")]:
            for path in (METRICS, METRICS + ".csv"):
                response = await client.get(path, params=window, headers={**client.as_user(user), **host(where)})
                assert response.status_code == 403, (user, path, response.text)
        for user in ("kitakata.admin", "kitakata.resident"):
            response = await client.get(METRICS, params=window, headers={**client.as_user(user), **COUNCIL})
            assert response.status_code == 403, (user, response.text)
        assert (await client.get(METRICS, headers=COUNCIL)).status_code == 401

        own = await client.get(METRICS, params=window, headers={**client.as_user("aizuwakamatsu.admin"),
                                                                **host("aizuwakamatsu")})
        assert own.status_code == 200, own.text
        body = own.json()
        assert [t["town"] for t in body["towns"]] == ["aizuwakamatsu"]
        assert "regional_median" in body and body["minimum_count"] == 5
        council = await client.get(METRICS, params=window, headers={**client.as_user("council.member"), **COUNCIL})
        assert council.status_code == 200, council.text
        assert [t["town"] for t in council.json()["towns"]] == [t.slug for t in region.towns]
        paths = (await client.get("/schema/openapi.json")).json()["paths"]
        for path in (METRICS, METRICS + ".csv"):
            assert {p["name"] for p in paths[path]["get"]["parameters"]} == {"from", "to"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"from": "2025-06-02", "to": "2025-06-01"}, "from"),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "from"),
        ({"to": "0001-01-02"}, "to"),
        ({"from": "9999-12-01"}, "from"),
    ],
)
async def test_a_bad_window_is_400_naming_the_parameter(insights, nats_url, region, params, field):
    async with gateway_client(region, nats_url, host="council.localhost") as client:
        for path in (METRICS, METRICS + ".csv"):
            response = await client.get(path, params=params, headers=client.as_user("council.member"))
            assert response.status_code == 400, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_the_service_refuses_a_bad_window_naming_the_field(insights, nats_url):
    backwards = msgspec.json.encode({"from": "2025-06-02", "to": "2025-06-01"})
    nc = await nats.connect(nats_url)
    try:
        for verb, payload, field in [(msg.TOWNS, backwards, "$.from"), (msg.CHARTS, b'{"lang": "fr"}', "$.lang"),
                                     (msg.TRENDS, b'{"to": "2025-02-30"}', "$.to")]:
            reply = await nc.request(subjects.request("council", subjects.INSIGHTS, verb), payload, timeout=10,
                                     headers={h.PRINCIPAL: encode(COUNCIL_MEMBER)})
            envelope = msgspec.json.decode(reply.data)
            assert reply.headers and reply.headers.get(h.SERVICE_ERROR_CODE) in ("400", "422")
            assert [f["field"] for f in envelope["fields"]] == [field], envelope
    finally:
        await nc.close()


# Open data and charts.


async def test_the_csv_is_open_data_for_excel(insights, nats_url, region):
    monday = a_week_of_our_own()
    for _ in range(6):
        await publish(insights.publisher, submitted("inawashiro", monday))
    await publish(insights.publisher, submitted("nishiaizu", monday))
    await caught_up(insights)
    async with gateway_client(region, nats_url, host="council.localhost") as client:
        response = await client.get(METRICS + ".csv", params={"from": monday.isoformat(), "to": monday.isoformat()},
                                    headers=client.as_user("council.member"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["期間開始 / from", "期間終了 / to", "団体 / town", "団体名 / name_ja", "団体名（英語） / name_en"]
    assert len(rows) == 1 + 13 + 1 and all(len(r) == len(rows[0]) for r in rows)
    by_town = {r[2]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert by_town["inawashiro"]["申請件数 / filings"] == "6"
    assert by_town["inawashiro"]["オンライン申請率 / online_filing_rate"] == "1.0"
    assert by_town["nishiaizu"]["申請件数 / filings"].startswith("秘匿")
    assert by_town["kaneyama"]["申請件数 / filings"] == "0"
    assert by_town["region"]["団体名 / name_ja"] == "会津地域（中央値）"
    # No personal data: no subjects, no application ids.
    assert "someone" not in response.text and "-" not in "".join(r[2] for r in rows[1:])


async def test_charts_are_accessible_svg_with_a_data_table(insights, nats_url):
    monday = a_week_of_our_own()
    for _ in range(5):
        await publish(insights.publisher, submitted("kitakata", monday))
    await caught_up(insights)
    query = msg.GetCharts(from_=monday, to=monday + timedelta(days=6), lang="ja")
    data, headers = await ask(nats_url, "council", msg.CHARTS, query, COUNCIL_MEMBER)
    assert h.SERVICE_ERROR_CODE not in headers, data
    charts = msgspec.json.decode(data, type=msg.Charts)
    ids = [c.id for c in charts.charts]
    assert ids == ["online-filing-rate", "online-completion-rate", "processing-days", "delivery-rate",
                   "card-verified-share", "paid-online-share", "online-filing-trend"]
    rate = charts.charts[0]
    assert rate.svg.startswith("<svg") and 'role="img"' in rate.svg
    assert '<title id="online-filing-rate-title">オンライン申請率</title>' in rate.svg
    assert "<desc" in rate.svg and "喜多方市: 100.0%" in rate.svg
    assert "<script" not in rate.svg and "href" not in rate.svg
    assert ["喜多方市", "100.0%"] in rate.table.rows
    assert ["西会津町", "データなし"] in rate.table.rows
    english = msgspec.json.decode((await ask(nats_url, "council", msg.CHARTS,
                                             msgspec.structs.replace(query, lang="en"), COUNCIL_MEMBER))[0],
                                  type=msg.Charts)
    assert "<title id=\"online-filing-rate-title\">Online filing rate</title>" in english.charts[0].svg
    assert "Kitakata" in english.charts[0].svg


# The whole way: a resident's filing through the gateway and procedures, into the council's figures.


@same_backend
async def test_a_filing_in_kitakata_counts_there_and_nowhere_else(region, nats_url, procedures_db, insights_db):
    today = datetime.now(TOKYO).date()
    async with (
        running_procedures(nats_url, procedures_db),
        running_insights(nats_url, insights_db, region) as service,
        gateway_client(region, nats_url) as client,
    ):
        before = await figures(nats_url, today, today)
        consumer = service.app.components.applications
        counted = consumer.handled
        filed = []
        for _ in range(5):
            response = await client.post("/api/v1/applications", json={"code": "juminhyo-copy"},
                                         headers={**client.as_user("kitakata.resident"),
                                                  "idempotency-key": str(uuid.uuid4())})
            assert response.status_code == 201, response.text
            filed.append(response.json()["application"]["id"])
        # A caseworker records that the resident had to come to the counter (over the bus, as the console does).
        nc = await nats.connect(nats_url)
        try:
            caseworker = Principal(subject="kitakata.caseworker", roles=("caseworker",), tenant="kitakata")
            reply = await nc.request(
                subjects.request("kitakata", subjects.PROCEDURES, "transition"),
                msgspec.json.encode(Transition(id=filed[0], to="in_review", counter_visit=True)),
                timeout=10, headers={h.PRINCIPAL: encode(caseworker)})
            assert h.SERVICE_ERROR_CODE not in (reply.headers or {}), reply.data
        finally:
            await nc.close()
        for _ in range(200):  # the outbox relay publishes within moments of the commit
            if consumer.handled - counted >= 6:
                break
            await asyncio.sleep(0.05)
        await caught_up(service)
        after = await figures(nats_url, today, today)
        council = await client.get(METRICS, params={"from": today.isoformat(), "to": today.isoformat()},
                                   headers={**client.as_user("council.member"), **COUNCIL})
    kitakata_before, kitakata_after = town(before, "kitakata"), town(after, "kitakata")
    assert kitakata_after.filings is not None and kitakata_after.filings >= 5
    if kitakata_before.filings is not None:
        assert kitakata_after.filings == kitakata_before.filings + 5
    if kitakata_before.filings == 0:  # nobody else filed in kitakata today: the five are all there is
        assert (kitakata_after.filings, kitakata_after.online_filing_rate, kitakata_after.card_verified_share) == (5, 1.0, 1.0)
    for slug in (t.slug for t in region.towns if t.slug != "kitakata"):
        assert town(after, slug) == town(before, slug), slug
    assert council.status_code == 200
    shown = next(t for t in council.json()["towns"] if t["town"] == "kitakata")
    assert shown["filings"] == kitakata_after.filings
    # What the procedures' events carried: the card, and the visit to the counter; nothing personal.
    facts = await _facts_of(insights_db, "kitakata", filed)
    assert [(f["channel"], f["card_verified"], f["counter_visit"]) for f in facts] == (
        [("online", True, True)] + [("online", True, False)] * 4)
    assert not any("kitakata.resident" in str(v) for f in facts for v in f.values())


async def _facts_of(db_url: str, tenant: str, ids: list[str]) -> list[dict]:
    from sqlalchemy import select

    from services.insights.models import ApplicationFact
    from services.runtime import rls
    from services.runtime.database import create_engine

    engine = create_engine(db_url)
    try:
        async with rls.sessionmaker(engine)(info={rls.TENANT: tenant}) as session:
            rows = (await session.execute(select(ApplicationFact).where(ApplicationFact.application_id.in_(ids)))).scalars()
            found = {r.application_id: {c: getattr(r, c) for c in ApplicationFact.__table__.columns.keys()} for r in rows}
    finally:
        await engine.dispose()
    return [found[i] for i in ids]


async def test_row_level_security_binds_the_service_role(insights_urls, postgres):
    """The PostgreSQL runs above used a NOBYPASSRLS role, reading town by town; unset, it sees nothing."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from services.runtime.database import create_engine

    tables = ("application_facts", "delivery_facts", "processed_events")
    superuser = create_engine(postgres.url(make_url(insights_urls["postgres"]).database))  # skips every policy
    try:
        async with superuser.begin() as c:
            for town in ("kitakata", "showa"):
                await c.execute(text("INSERT INTO processed_events (tenant, event_id, processed_at) "
                                     "VALUES (:t, :e, now())"), {"t": town, "e": str(uuid.uuid4())})
    finally:
        await superuser.dispose()
    engine = create_engine(insights_urls["postgres"])
    try:
        async with engine.connect() as c:
            forced = (await c.execute(text(
                "SELECT count(*) FROM pg_class WHERE relname = ANY(:t) AND relrowsecurity AND relforcerowsecurity"
            ), {"t": list(tables)})).scalar_one()
            assert forced == len(tables)
            assert (await c.execute(text("SELECT count(*) FROM processed_events"))).scalar_one() == 0  # no town set
        async with engine.begin() as c:
            await c.execute(text("SELECT set_config('aizu.tenant', 'kitakata', true)"))
            towns = set((await c.execute(text("SELECT DISTINCT tenant FROM processed_events"))).scalars())
            assert towns == {"kitakata"}
            moved = await c.execute(text("UPDATE processed_events SET processed_at = now() WHERE tenant = 'showa'"))
            assert moved.rowcount == 0
    finally:
        await engine.dispose()
    assert make_url(insights_urls["postgres"]).username == "insights_app_test"


@pytest.mark.parametrize(
    ("procedures_db", "notifications_db", "insights_db"), [(b, b, b) for b in BACKENDS], ids=list(BACKENDS),
    indirect=True,
)
async def test_mail_that_reached_the_resident_counts_as_delivered(
    region, nats_url, procedures_db, notifications_db, insights_db, tmp_path
):
    """procedures → notifications (mail to the loopback SMTP sink) → delivery.finished → insights."""
    from tests.conftest import mail_sink, running_notifications, smtp_to

    today, slug = datetime.now(TOKYO).date(), "kaneyama"
    me = {"host": f"{slug}.localhost"}
    async with (
        mail_sink(tmp_path / "mail") as sink,
        running_procedures(nats_url, procedures_db),
        running_notifications(nats_url, notifications_db, smtp_to(sink)),
        running_insights(nats_url, insights_db, region) as service,
        gateway_client(region, nats_url) as client,
    ):
        before = town(await figures(nats_url, today, today), slug)
        user = {**client.as_user(f"{slug}.resident"), **me}
        saved = await client.put("/api/v1/preferences", json={"channels": ["email"], "email": "r@kaneyama.example"},
                                 headers=user)
        assert saved.status_code == 200, saved.text
        for _ in range(5):
            response = await client.post("/api/v1/applications", json={"code": "juminhyo-copy"},
                                         headers={**user, "idempotency-key": str(uuid.uuid4())})
            assert response.status_code == 201, response.text
        # Mail goes out, the outcome is published, insights counts it. Wait for these five outcomes
        # themselves: the consumer may first work through other tests' (hundreds of them).
        for _ in range(400):
            await caught_up(service)
            after = town(await figures(nats_url, today, today), slug)
            if (after.deliveries or 0) >= (before.deliveries or 0) + 5:
                break
            await asyncio.sleep(0.05)
    assert len(sink.messages()) >= 5
    if before.deliveries == 0:
        assert (after.deliveries, after.delivery_rate) == (5, 1.0)
    else:
        assert after.deliveries is not None and after.deliveries >= 5
