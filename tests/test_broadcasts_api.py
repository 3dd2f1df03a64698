"""Broadcasts and notice rules through the gateway: who may call each route, at which host.

The gateway served by uvicorn with its development issuer, the notifications service on both
backends; residents imported into the directory under the demo users' subjects.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from contracts.tenants import Region
from gateway.devissuer.users import subject_for
from services.notifications.delivery.quiet_hours import TOKYO
from tests.conftest import gateway_client, running_notifications
from tests.conftest import eventually
from tests.test_broadcasts import add_residents

B = "/api/v1/broadcasts"
R = "/api/v1/notice-rules"
ALERT = {
    "kind": "emergency", "title_ja": "【避難指示】日橋川の増水", "body_ja": "直ちに避難してください。",
    "title_en": "Evacuation order: Nippashi River rising", "body_en": "Evacuate now.",
}


async def test_town_alert_routes_keep_the_two_person_rule_and_the_town(nats_url: str, notifications_db: str, region: Region) -> None:
    async with running_notifications(nats_url, notifications_db), gateway_client(region, nats_url) as client:
        resident = subject_for(client.issuer, "kitakata.resident")
        await add_residents(notifications_db, "kitakata", 1, subjects=[resident], district="塩川")
        title = f"{ALERT['title_ja']} {uuid.uuid4().hex[:6]}"
        body = {**ALERT, "title_ja": title}
        for user in ("kitakata.resident", "kitakata.caseworker", "aizuwakamatsu.admin"):
            denied = await client.post(B, json=body, headers=client.as_user(user))
            assert denied.status_code == 403, user
        bad = await client.post(B, json={**body, "title_en": ""}, headers=client.as_user("kitakata.admin"))
        # English is optional, but a body without its title is refused, naming the title.
        assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["$.title_en"], bad.text
        bad = await client.post(B, json={**body, "title_ja": ""}, headers=client.as_user("kitakata.admin"))
        # Refused by the gateway itself (Litestar decodes the body): its error names the field too.
        assert bad.status_code == 400 and "title_ja" in str(bad.json()["errors"]), bad.text
        bad = await client.post(B, json={**body, "target": "districts", "districts": ["銀座"]}, headers=client.as_user("kitakata.admin"))
        assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["$.districts[0]"]
        for field, value in (("body_ja", "避難してください\x00"), ("title_ja", "警報\n発令"), ("body_en", "Evacuate\x1b[2J")):
            bad = await client.post(B, json={**body, field: value}, headers=client.as_user("kitakata.admin"))
            assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == [f"$.{field}"], bad.text
            assert "使えません" in bad.json()["errors"][0]["message_ja"]

        made = await client.post(B, json=body, headers=client.as_user("kitakata.admin"))
        assert made.status_code == 201 and made.json()["status"] == "pending-approval"
        approve = f"{B}/{made.json()['id']}/approve"
        for user in ("kitakata.admin", "aizuwakamatsu.admin2", "kitakata.caseworker", "kitakata.resident"):
            denied = await client.post(approve, headers=client.as_user(user))
            assert denied.status_code == 403, user
        other_host = await client.post(approve, headers={**client.as_user("aizuwakamatsu.admin2"), "host": "aizuwakamatsu.localhost"})
        assert other_host.status_code == 404
        listed = await client.get(B, headers=client.as_user("aizuwakamatsu.admin"))
        assert listed.status_code == 403

        approved = await client.post(approve, headers=client.as_user("kitakata.admin2"))
        assert approved.status_code == 200 and approved.json()["approver"] == subject_for(client.issuer, "kitakata.admin2")

        async def in_inbox() -> bool:
            inbox = (await client.get("/api/v1/inbox", headers=client.as_user("kitakata.resident"))).json()
            return any(m["title_ja"] == title and m["kind"] == "broadcast.emergency" for m in inbox["items"])

        await eventually(in_inbox)
        listed = (await client.get(B, headers=client.as_user("kitakata.admin"))).json()
        mine = next(i for i in listed["items"] if i["id"] == made.json()["id"])
        assert mine["reach"]["inbox"] >= 1 and mine["reach"]["towns"] == 1


async def test_council_routes_are_for_council_members(nats_url: str, notifications_db: str, region: Region) -> None:
    async with running_notifications(nats_url, notifications_db), gateway_client(region, nats_url, host="council.localhost") as client:
        resident = subject_for(client.issuer, "yanaizu.resident")
        await add_residents(notifications_db, "yanaizu", 1, subjects=[resident])
        title = f"【地域全体】大雪警報 {uuid.uuid4().hex[:6]}"
        body = {**ALERT, "title_ja": title, "target": "region"}
        for user in ("kitakata.admin", "yanaizu.resident"):
            assert (await client.post(B, json=body, headers=client.as_user(user))).status_code == 403, user
        wrong = await client.post(B, json={**body, "target": "town"}, headers=client.as_user("council.member"))
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "$.target"
        made = await client.post(B, json=body, headers=client.as_user("council.member"))
        assert made.status_code == 201 and made.json()["status"] == "pending-approval"
        approve = f"{B}/{made.json()['id']}/approve"
        assert (await client.post(approve, headers=client.as_user("council.member"))).status_code == 403
        assert (await client.post(approve, headers=client.as_user("yanaizu.admin"))).status_code == 403
        assert (await client.post(approve, headers=client.as_user("council.member2"))).status_code == 200
        # Notice rules are a town's: not at the council's host.
        assert (await client.get(R, headers=client.as_user("council.member"))).status_code == 403

        async def reached() -> bool:
            inbox = (await client.get("/api/v1/inbox", headers={**client.as_user("yanaizu.resident"), "host": "yanaizu.localhost"})).json()
            return any(m["title_ja"] == title for m in inbox["items"])

        await eventually(reached, 60)


async def test_notice_rule_routes(nats_url: str, notifications_db: str, region: Region) -> None:
    async with running_notifications(nats_url, notifications_db), gateway_client(region, nats_url, host="nishiaizu.localhost") as client:
        born = datetime.now(TOKYO).date() - timedelta(days=80 * 365 + 30)
        elders = await add_residents(notifications_db, "nishiaizu", 3, birthdate=born, district="奥川")
        rule: dict[str, Any] = {
            "name_ja": "後期高齢者 健診のご案内", "name_en": "Health check for 75+",
            "criteria": {"age_at_least": 75, "districts": ["奥川"]},
            "title_ja": "無料の健康診査のご案内", "body_ja": "75歳以上の方は無料で健康診査を受けられます。",
            "title_en": "Free health check", "body_en": "Residents aged 75 and over can have a free health check.",
        }
        for user in ("nishiaizu.caseworker", "kitakata.admin", "nishiaizu.resident"):
            assert (await client.post(R, json=rule, headers=client.as_user(user))).status_code == 403, user
        bad = await client.post(R, json={**rule, "criteria": {}}, headers=client.as_user("nishiaizu.admin"))
        assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["$.criteria"]
        saved = await client.post(R, json=rule, headers=client.as_user("nishiaizu.admin"))
        assert saved.status_code == 201
        rule_id = saved.json()["id"]
        preview = await client.get(f"{R}/{rule_id}/preview", headers=client.as_user("nishiaizu.caseworker"))
        assert preview.status_code == 200 and preview.json()["would_notify"] >= len(elders)
        assert (await client.get(f"{R}/{rule_id}/preview", headers=client.as_user("kitakata.caseworker"))).status_code == 403
        for user in ("nishiaizu.caseworker", "kitakata.admin"):
            assert (await client.post(f"{R}/{rule_id}/runs", headers=client.as_user(user))).status_code == 403, user
        first = await client.post(f"{R}/{rule_id}/runs", headers=client.as_user("nishiaizu.admin"))
        assert first.status_code == 201 and first.json()["notified"] == preview.json()["would_notify"]
        second = await client.post(f"{R}/{rule_id}/runs", headers=client.as_user("nishiaizu.admin2"))
        assert second.status_code == 201 and second.json()["notified"] == 0
        listed = (await client.get(R, headers=client.as_user("nishiaizu.caseworker"))).json()
        mine = next(r for r in listed["items"] if r["id"] == rule_id)
        assert len(mine["runs"]) == 2 and mine["notified"] == first.json()["notified"]
        assert (await client.get(R, headers=client.as_user("kitakata.admin"))).status_code == 403


async def test_a_stalled_alert_shows_in_readyz_and_its_page_until_it_goes_out(
    nats_url: str, notifications_db: str, region: Region, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AIZU_ALERT_DEADLINE_SECONDS", "1")
    await add_residents(notifications_db, "inawashiro", 2)
    async with running_notifications(nats_url, notifications_db) as svc, \
            gateway_client(region, nats_url, host="inawashiro.localhost") as client:
        lane = svc.app.components.alerts
        await lane.stop()  # the alerts' fan-out makes no progress
        made = await client.post(B, json={**ALERT, "title_en": "", "body_en": ""}, headers=client.as_user("inawashiro.admin"))
        assert made.status_code == 201, made.text
        cast_id = made.json()["id"]
        approved = await client.post(f"{B}/{cast_id}/approve", headers=client.as_user("inawashiro.admin2"))
        assert approved.status_code == 200, approved.text

        async def stalled() -> list[dict[str, Any]]:
            ready = (await client.get("/readyz")).json()
            return [s for s in ready["stalled_alerts"] if s["broadcast_id"] == cast_id]

        shown = await eventually(stalled, 15)
        assert shown[0]["towns_pending"] == ["inawashiro"] and shown[0]["origin"] == "inawashiro"
        detail = await client.get(f"{B}/{cast_id}", headers=client.as_user("inawashiro.admin"))
        assert detail.status_code == 200 and detail.json()["alarm_at"] and detail.json()["status"] == "sending"
        assert [t["done"] for t in detail.json()["towns"]] == [False]
        # Another town's admin cannot read it; a caseworker cannot either.
        for user, host in (("kitakata.admin", "kitakata.localhost"), ("inawashiro.caseworker", "inawashiro.localhost")):
            other = await client.get(f"{B}/{cast_id}", headers={**client.as_user(user), "host": host})
            assert other.status_code in (403, 404), (user, other.text)
        # The lane comes back: the alert goes out and leaves readyz.
        await lane.subscribe(svc.nc.jetstream())

        async def cleared() -> bool:
            return not await stalled()

        await eventually(cleared, 30)
        done = (await client.get(f"{B}/{cast_id}", headers=client.as_user("inawashiro.admin"))).json()
        assert done["status"] == "sent" and done["reach"]["inbox"] == done["reach"]["residents"] >= 2
