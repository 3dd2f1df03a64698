"""The regional FAQ: the seeded answers, towns' overrides, checks at load, the unanswered log
(on SQLite and PostgreSQL under row-level security) and the gateway's routes.
"""

from __future__ import annotations

import asyncio
import random
import re
import string
from collections.abc import AsyncIterator
from pathlib import Path
from typing import get_args

import msgspec
import nats
import pytest
from sqlalchemy import text

from contracts import faq as msg
from contracts.errors import ErrorCode, ServiceFailure
from contracts.principal import Principal
from contracts.subjects import PORTAL
from contracts.tenants import ConfigError, Region, default_directory
from services.portal import faq_log
from services.portal.faq_base import FaqBase
from services.portal.settings import PortalSettings
from services.runtime.client import BusClient
from services.runtime import rls
from services.runtime.database import create_engine
from tests.conftest import gateway_client, running_portal

FAQ_URL = "/api/v1/faq"
FAQ_DIR = default_directory() / "faq"
UNANSWERED_URL = "/api/v1/faq/unanswered"


@pytest.fixture(scope="module")
def base(region: Region) -> FaqBase:
    return FaqBase.load(FAQ_DIR, region)


def nonsense() -> str:
    """A question no answer covers, different in every test (letters only: digits are masked)."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=10))


def staff(town: str, role: str = "caseworker") -> Principal:
    return Principal(subject=f"{town}-{role}", roles=(role,), tenant=town)  # type: ignore[arg-type]


RESIDENT = Principal(subject="kitakata-resident", roles=("resident",), tenant="kitakata", acr="jpki")


# --- the seeded answers ---------------------------------------------------------------------


def test_the_regional_base_is_large_and_covers_what_residents_ask(base: FaqBase) -> None:
    entries = [e.entry for e in base.entries("bandai")]
    assert len(entries) >= 110
    assert {e.category for e in entries} == set(get_args(msg.Category))
    assert all(e.answer_en for e in entries), [e.id for e in entries if not e.answer_en]
    assert all(e.alternatives_ja for e in entries)
    # Answers point to the town's counter or its configured number, never a number of their own.
    written = (FAQ_DIR / "regional.toml").read_text(encoding="utf-8")
    assert not re.findall(r"\d{2,5}-\d{1,4}-\d{3,4}", written)


def test_a_town_override_replaces_the_shared_answer_there_only(base: FaqBase) -> None:
    kitakata = {e.entry.id: e for e in base.entries("kitakata")}
    bandai = {e.entry.id: e for e in base.entries("bandai")}
    assert kitakata["snow-plow-when"].town_specific and "喜多方市" in kitakata["snow-plow-when"].entry.answer_ja
    assert not bandai["snow-plow-when"].town_specific and "喜多方市" not in bandai["snow-plow-when"].entry.answer_ja
    # Town-only questions are the town's own.
    assert "kitakata-branch-offices" in kitakata and "kitakata-branch-offices" not in bandai
    hits, answered = base.search("kitakata", "除雪車はいつ来ますか")
    assert answered and hits[0].id == "snow-plow-when" and hits[0].town_specific
    hits, _ = base.search("bandai", "除雪車はいつ来ますか")
    assert hits[0].id == "snow-plow-when" and not hits[0].town_specific


def test_answers_name_the_town_and_its_contact(base: FaqBase, region: Region) -> None:
    for slug in ("kitakata", "showa"):
        town = region.town(slug)
        assert town is not None
        phone = {e.entry.id: e.entry for e in base.entries(slug)}["contact-phone"]
        assert town.contact.phone in phone.answer_ja and town.name_ja in phone.answer_ja
        assert town.name_en in phone.answer_en
        assert not [e.entry.id for e in base.entries(slug) if "{" in e.entry.answer_ja + e.entry.answer_en]


def test_a_procedure_is_linked_only_where_the_town_offers_it(base: FaqBase, region: Region) -> None:
    for town in region.towns:
        offered = {p.code for p in town.procedures}
        linked = {e.entry.procedure for e in base.entries(town.slug)} - {None}
        assert linked <= offered, town.slug
    showa = region.town("showa")
    assert showa is not None and "nursery-admission" not in {p.code for p in showa.procedures}
    nursery = {e.entry.id: e.entry for e in base.entries("showa")}["nursery-apply"]
    assert nursery.procedure is None


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("住民票をコンビニでとりたい", "juminhyo-convenience-store"),
        ("印鑑証明", "inkan-certificate-get"),
        ("マイナンバーカードをなくした", "mynumber-lost"),
        ("マイナカードの暗証番号を忘れた", "mynumber-pin"),
        ("粗大ゴミ", "garbage-oversized"),
        ("テレビを捨てたい", "garbage-appliances"),
        ("保育園に入りたい", "nursery-apply"),
        ("75歳になったら保険は", "elderly-medical-75"),
        ("固定資産税", "property-tax"),
        ("水道管が凍った", "snow-pipes-frozen"),
        ("避難所はどこ", "evacuation-shelter"),
        ("図書館のカード", "library-card"),
        ("クマを見た", "wild-animals"),
        ("じょせつしゃ", "snow-plow-when"),
        ("library card", "library-card"),
    ],
)
def test_questions_find_their_answer(base: FaqBase, question: str, expected: str) -> None:
    hits, answered = base.search("aizubange", question, 3)
    assert answered
    assert hits[0].id == expected, [h.id for h in hits]


@pytest.mark.parametrize("question", ["宇宙旅行の申し込み", "の", "asdfgh", "ほげほげ"])
def test_no_good_answer_is_said_so(base: FaqBase, question: str) -> None:
    hits, answered = base.search("kitakata", question)
    assert not answered
    assert hits == []


# --- checks at load -------------------------------------------------------------------------

ENTRY = """
[[entries]]
id = "{id}"
category = "general"
question_ja = "質問"
alternatives_ja = ["別の聞き方"]
answer_ja = "答え"
"""


def faq_dir(tmp_path: Path, regional: str, **towns: str) -> Path:
    directory = tmp_path / "faq"
    directory.mkdir()
    (directory / "regional.toml").write_text(regional, encoding="utf-8")
    for slug, body in towns.items():
        (directory / f"{slug}.toml").write_text(body, encoding="utf-8")
    return directory


def load_error(directory: Path, region: Region) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        FaqBase.load(directory, region)
    return caught.value


def test_a_valid_minimal_base_loads(tmp_path: Path, region: Region) -> None:
    directory = faq_dir(tmp_path, ENTRY.format(id="one") + ENTRY.format(id="two"))
    assert [e.entry.id for e in FaqBase.load(directory, region).entries("kitakata")] == ["one", "two"]


def test_duplicate_id_is_refused(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one") + ENTRY.format(id="one")), region)
    assert error.file.endswith("regional.toml") and error.field == "$.entries[1].id" and "duplicate id 'one'" in error.reason


def test_a_town_entry_may_not_reuse_a_regional_id(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one"), kitakata=ENTRY.format(id="one")), region)
    assert error.file.endswith("kitakata.toml") and error.field == "$.entries[0].id"


def test_unknown_override_id_is_refused(tmp_path: Path, region: Region) -> None:
    town = '[[overrides]]\nid = "nowhere"\nanswer_ja = "町の答え"\n'
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one"), showa=town), region)
    assert error.file.endswith("showa.toml") and error.field == "$.overrides[0].id" and "'nowhere'" in error.reason


def test_missing_field_is_named(tmp_path: Path, region: Region) -> None:
    broken = ENTRY.format(id="one").replace('answer_ja = "答え"\n', "")
    error = load_error(faq_dir(tmp_path, broken), region)
    assert error.field == "$.entries[0]" and "answer_ja" in error.reason


def test_unknown_field_is_named(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one") + 'answr_en = "typo"\n'), region)
    assert error.field == "$.entries[0]" and "answr_en" in error.reason


def test_unknown_procedure_is_refused(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one") + 'procedure = "no-such-thing"\n'), region)
    assert error.field == "$.entries[0].procedure"


def test_unknown_placeholder_is_refused(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one").replace("答え", "{mayor}に聞いてください")), region)
    assert error.field == "$.entries[0].answer_ja" and "mayor" in error.reason


def test_english_question_without_english_answer_is_refused(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one") + 'question_en = "A question"\n'), region)
    assert error.field == "$.entries[0].question_en"


def test_a_file_for_no_town_is_refused(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, ENTRY.format(id="one"), atlantis=""), region)
    assert error.file.endswith("atlantis.toml") and "atlantis" in error.reason


def test_unreadable_toml_is_named(tmp_path: Path, region: Region) -> None:
    error = load_error(faq_dir(tmp_path, "[[entries]\nid ="), region)
    assert error.file.endswith("regional.toml") and error.field == "$"


# --- masking what is stored -----------------------------------------------------------------


def test_numbers_and_addresses_are_masked() -> None:
    masked = faq_log.mask("電話 0241-24-5111 と ｍａｉｌ taro@example.jp カード123456789012")
    assert "5111" not in masked and "taro" not in masked and "123456789012" not in masked
    assert "電話" in masked and "カード" in masked
    assert faq_log.grouping_key(faq_log.mask("除雪車は来ますか")) == faq_log.grouping_key(faq_log.mask("除雪車、来ますか？"))


# --- the service, on both backends ----------------------------------------------------------


@pytest.fixture
async def bus(nats_url: str, portal_db: str, region: Region) -> AsyncIterator[BusClient]:
    async with running_portal(nats_url, portal_db, region):
        nc = await nats.connect(nats_url)
        try:
            yield BusClient(nc, 10.0)
        finally:
            await nc.drain()


async def ask(bus: BusClient, town: str, question: str) -> msg.FaqResults:
    return await bus.fetch(town, PORTAL, msg.SEARCH, msg.FaqSearch(q=question), msg.FaqResults)


async def unanswered(bus: BusClient, town: str, principal: Principal) -> list[msg.UnansweredQuestion]:
    found = await bus.fetch(town, PORTAL, msg.UNANSWERED, msg.ListUnanswered(), msg.UnansweredList, principal)
    assert found.tenant == town
    return found.items


async def test_answers_over_the_bus_are_not_logged(bus: BusClient) -> None:
    result = await ask(bus, "kitakata", "住民票をオンラインで請求したい")
    assert result.answered and result.hits[0].id == "juminhyo-online"
    assert result.hits[0].procedure == "juminhyo-copy"
    logged = await unanswered(bus, "kitakata", staff("kitakata"))
    assert not [q for q in logged if "住民票" in q.question]


async def test_unanswered_questions_are_counted_for_the_towns_staff(bus: BusClient) -> None:
    word = nonsense()
    first = await ask(bus, "kitakata", f"{word} について 0241-99-9999 に電話します")
    assert not first.answered and first.hits == []
    await ask(bus, "kitakata", f"{word}について、0241-11-1111に電話します！")
    logged = {q.normalised: q for q in await unanswered(bus, "kitakata", staff("kitakata", "tenant-admin"))}
    key = faq_log.grouping_key(faq_log.mask(f"{word} について 電話します"))
    assert key in logged, logged.keys()
    entry = logged[key]
    assert entry.count == 2
    assert word in entry.question and "9999" not in entry.question
    assert entry.first_seen <= entry.last_seen
    # Another town's list does not have it, nor may that town's staff read Kitakata's.
    assert key not in {q.normalised for q in await unanswered(bus, "aizuwakamatsu", staff("aizuwakamatsu"))}


async def test_the_same_question_asked_at_once_is_counted_every_time(bus: BusClient) -> None:
    word = nonsense()
    results = await asyncio.gather(*(ask(bus, "kitakata", f"{word}を教えて") for _ in range(8)))
    assert not any(r.answered for r in results)
    counts = [q.count for q in await unanswered(bus, "kitakata", staff("kitakata")) if word in q.question]
    assert counts == [8]


async def test_a_flood_of_new_questions_stops_at_the_days_limit_and_known_ones_still_count(portal_db: str) -> None:
    engine = create_engine(portal_db)
    town = "showa"
    try:
        async with rls.sessionmaker(engine)(info={rls.TENANT: town}) as session:
            words = [nonsense() for _ in range(4)]
            before = len(await faq_log.most_asked(session, town, limit=1000))
            await session.rollback()
            limit = before + 2  # room for two new questions today
            kept = [await faq_log.record(session, town, f"{w}とは", new_per_day=limit) for w in words]
            assert kept == [True, True, False, False]
            # A question already on the list is still counted past the limit.
            assert await faq_log.record(session, town, f"{words[0]}とは？", new_per_day=limit)
            listed = {q.question: q.count for q in await faq_log.most_asked(session, town, limit=1000) if q.question.startswith(tuple(words))}
            await session.rollback()
            assert listed == {f"{words[0]}とは": 2, f"{words[1]}とは": 1}
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "principal",
    [staff("aizuwakamatsu"), staff("aizuwakamatsu", "tenant-admin"), RESIDENT, Principal(subject="council", roles=("council",))],
    ids=["other-town-caseworker", "other-town-admin", "resident", "council"],
)
async def test_only_the_towns_staff_read_its_unanswered_questions(bus: BusClient, principal: Principal) -> None:
    with pytest.raises(ServiceFailure) as caught:
        await bus.fetch("kitakata", PORTAL, msg.UNANSWERED, msg.ListUnanswered(), msg.UnansweredList, principal)
    assert caught.value.envelope.code is ErrorCode.FORBIDDEN


async def test_bad_questions_are_refused_by_name_and_nothing_is_logged(bus: BusClient) -> None:
    for payload in (b'{"q": ""}', b'{"q": "' + b"a" * 201 + b'"}', b"{}", b'{"q": "   "}', b'{"q": "\\u0000\\u0007"}'):
        with pytest.raises(ServiceFailure) as caught:
            await bus.request("kitakata", PORTAL, msg.SEARCH, payload)
        assert [f.field for f in caught.value.envelope.fields] in (["$.q"], ["q"], ["$"]), caught.value.envelope
        assert caught.value.envelope.code in (ErrorCode.BAD_REQUEST, ErrorCode.VALIDATION)
    logged = await unanswered(bus, "kitakata", staff("kitakata"))
    assert not [q for q in logged if q.question.strip() in ("", "a" * 200)]


async def test_a_council_subject_has_no_faq(bus: BusClient) -> None:
    with pytest.raises(ServiceFailure) as caught:
        await ask(bus, "council", "住民票")
    assert caught.value.envelope.code is ErrorCode.NOT_FOUND


async def test_row_level_security_hides_other_towns_rows(nats_url: str, portal_urls: dict[str, str], region: Region) -> None:
    """On PostgreSQL the app role sees only the town its session names, and nothing without one."""
    url = portal_urls["postgres"]
    async with running_portal(nats_url, url, region):
        nc = await nats.connect(nats_url)
        try:
            await ask(BusClient(nc, 10.0), "kitakata", nonsense())
        finally:
            await nc.drain()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM faq_unanswered"))).scalar_one() == 0
            await conn.execute(text("SELECT set_config('aizu.tenant', 'aizuwakamatsu', false)"))
            mine = (await conn.execute(text("SELECT count(*) FROM faq_unanswered WHERE tenant = 'kitakata'"))).scalar_one()
            assert mine == 0
            await conn.execute(text("SELECT set_config('aizu.tenant', 'kitakata', false)"))
            assert (await conn.execute(text("SELECT count(*) FROM faq_unanswered"))).scalar_one() > 0
    finally:
        await engine.dispose()


# --- the gateway's routes -------------------------------------------------------------------


@pytest.fixture(scope="module")
async def gateway(nats_url: str, portal_urls: dict[str, str], region: Region) -> AsyncIterator:
    # The routes do not depend on the backend: one is enough here.
    async with running_portal(nats_url, portal_urls["sqlite"], region):
        async with gateway_client(region, nats_url) as client:
            yield client


async def test_anyone_may_ask_the_faq(gateway) -> None:  # type: ignore[no-untyped-def]
    reply = await gateway.get(FAQ_URL, params={"q": "除雪車はいつ来ますか"})
    assert reply.status_code == 200, reply.text
    result = msgspec.json.decode(reply.content, type=msg.FaqResults)
    assert result.answered and result.hits[0].id == "snow-plow-when" and result.hits[0].town_specific
    # The host's town decides the answer.
    other = await gateway.get(FAQ_URL, params={"q": "除雪車はいつ来ますか"}, headers={"host": "bandai.localhost"})
    assert not msgspec.json.decode(other.content, type=msg.FaqResults).hits[0].town_specific


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "あ" * 201}, "q"), ({"q": "住民票", "limit": "0"}, "limit"), ({"q": "住民票", "limit": "21"}, "limit")],
)
async def test_bad_faq_queries_name_the_parameter(gateway, params: dict[str, str], field: str) -> None:  # type: ignore[no-untyped-def]
    before = await gateway.get(UNANSWERED_URL, headers=gateway.as_user("kitakata.caseworker"))
    reply = await gateway.get(FAQ_URL, params=params)
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert field in reply.text
    [error] = reply.json()["errors"]
    assert error["field"] == field and "Expected" not in error["message_ja"] and "Missing" not in error["message_ja"], error
    after = await gateway.get(UNANSWERED_URL, headers=gateway.as_user("kitakata.caseworker"))
    assert after.json() == before.json()  # nothing logged for a refused question


async def test_the_towns_staff_read_its_unanswered_questions(gateway) -> None:  # type: ignore[no-untyped-def]
    word = nonsense()
    asked = await gateway.get(FAQ_URL, params={"q": f"{word}はありますか"})
    assert asked.status_code == 200 and asked.json()["answered"] is False
    for user in ("kitakata.caseworker", "kitakata.admin"):
        reply = await gateway.get(UNANSWERED_URL, headers=gateway.as_user(user))
        assert reply.status_code == 200, reply.text
        listed = msgspec.json.decode(reply.content, type=msg.UnansweredList)
        assert listed.tenant == "kitakata"
        assert [q.count for q in listed.items if word in q.question] == [1]


@pytest.mark.parametrize(
    ("user", "status"),
    [(None, 401), ("kitakata.resident", 403), ("aizuwakamatsu.caseworker", 403), ("aizuwakamatsu.admin", 403), ("council.member", 403)],
)
async def test_others_may_not_read_the_unanswered_questions(gateway, user: str | None, status: int) -> None:  # type: ignore[no-untyped-def]
    headers = gateway.as_user(user) if user else {}
    reply = await gateway.get(UNANSWERED_URL, headers=headers)
    assert reply.status_code == status, reply.text
    assert "normalised" not in reply.text


async def test_a_question_with_control_characters_is_refused_and_not_logged(gateway) -> None:  # type: ignore[no-untyped-def]
    before = await gateway.get(UNANSWERED_URL, headers=gateway.as_user("kitakata.caseworker"))
    reply = await gateway.get(FAQ_URL, params={"q": "住民票\x00\x07"})
    assert reply.status_code == 422 and reply.json()["errors"][0]["field"] == "$.q", reply.text
    assert "制御文字" in reply.json()["errors"][0]["message_ja"]
    after = await gateway.get(UNANSWERED_URL, headers=gateway.as_user("kitakata.caseworker"))
    assert after.json() == before.json()


async def test_bad_limit_on_unanswered_is_named(gateway) -> None:  # type: ignore[no-untyped-def]
    reply = await gateway.get(UNANSWERED_URL, params={"limit": "0"}, headers=gateway.as_user("kitakata.caseworker"))
    assert reply.status_code == 400 and "limit" in reply.text


def test_the_portals_settings_come_from_the_environment_and_a_bad_value_names_its_variable() -> None:
    assert PortalSettings.from_env({}) == PortalSettings(read_timeout=2.0, faq_new_per_day=300)
    assert PortalSettings.from_env({"AIZU_FAQ_NEW_PER_DAY": "50", "AIZU_PORTAL_READ_TIMEOUT": "1.5"}) == PortalSettings(
        read_timeout=1.5, faq_new_per_day=50)
    with pytest.raises(ValueError, match="AIZU_FAQ_NEW_PER_DAY"):
        PortalSettings.from_env({"AIZU_FAQ_NEW_PER_DAY": "many"})
