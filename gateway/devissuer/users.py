"""Demo users of every town, derived from ``tenants/`` so that a new town gets its users for free.

Usernames follow IDENTITY.md (``<slug>.resident``, ``<slug>.caseworker``, ...). Everything else is
derived deterministically from the username: the same person, subject, birth date and address on
every machine and every run, so screenshots, fixtures and the realm export (``--with-demo-users``
should build its users from :func:`demo_users`) agree.

The people are fictional. Surnames are the common ones of the Aizu region; addresses are in a real
district of each town with that area's postal code as listed by Japan Post (as remembered, like the
town-hall data in ``tenants/``: plausible, not verified, never to be used for mail).
"""

from __future__ import annotations

from datetime import date

import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Literal

import msgspec

from contracts.principal import Role
from contracts.tenants import Region, Tenant

Acr = Literal["jpki", "aal1", "aal2"]
Gender = Literal["female", "male"]
PREFECTURE = "福島県"

#: acr values in the order of assurance a sign-in can be asked for (``acr_values``).
ACR_VALUES: tuple[Acr, ...] = ("aal1", "jpki", "aal2")


class Address(msgspec.Struct, frozen=True, kw_only=True):
    """OIDC ``address`` claim (OIDC Core §5.1.1), as the My Number Card's address would fill it."""

    formatted: str
    postal_code: str
    region: str = PREFECTURE
    locality: str
    street_address: str


class DemoUser(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    subject: str
    name: str
    acr: Acr
    roles: tuple[Role, ...]
    #: The slug under which the sign-in page lists the user (a town, or ``council``).
    group: str
    #: A resident's home town (the ``tenant`` claim).
    tenant: str | None = None
    #: A staff member's municipality (the ``organization`` claim).
    organization: str | None = None
    address: Address | None = None
    birthdate: str | None = None
    gender: Gender | None = None
    description_ja: str
    description_en: str

    def satisfies(self, acr_values: Sequence[str]) -> bool:
        """Whether signing in as this user meets a request's ``acr_values``.

        Any sign-in is at least ``aal1``; ``jpki`` and ``aal2`` are met only by users who have them
        (a staff password is not card verification, and a card-verified resident is not staff).
        """
        if not acr_values:
            return True
        return "aal1" in acr_values or self.acr in acr_values


def subject_for(issuer_url: str, username: str) -> str:
    """``sub`` as IDENTITY.md defines it: stable per issuer, no database needed."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, issuer_url.rstrip("/") + "/" + username))


#: A residential district of each town and its postal code. Towns not listed (a new file in
#: tenants/) fall back to their first district and the "以下に掲載がない場合" form of the town hall's
#: code (〒969-6592 → 969-6500).
_HOMES: dict[str, tuple[str, str, str]] = {
    # slug: (district and 字, 番地, postal code)
    "aizuwakamatsu": ("栄町", "2番14号", "965-0871"),
    "kitakata": ("字寺町", "4780", "966-0861"),
    "kitashiobara": ("大字北山", "字前田2720", "966-0401"),
    "nishiaizu": ("野沢", "字上小屋乙3560", "969-4406"),
    "bandai": ("大字磐梯", "字西本寺甲2070", "969-3301"),
    "inawashiro": ("字古城跡", "7980", "969-3123"),
    "aizubange": ("字五反田", "甲2870", "969-6536"),
    "yugawa": ("大字笈川", "字漆1006", "969-3531"),
    "yanaizu": ("大字柳津", "字岩坂町甲185", "969-7201"),
    "mishima": ("大字宮下", "字宮下410", "969-7511"),
    "kaneyama": ("大字川口", "字森ノ上1420", "968-0011"),
    "showa": ("大字下中津川", "字大石田1530", "968-0103"),
    "aizumisato": ("字高田甲", "2650", "969-6261"),
}

_SURNAMES = (
    "渡部",
    "星",
    "佐藤",
    "鈴木",
    "五十嵐",
    "長谷川",
    "遠藤",
    "小林",
    "斎藤",
    "目黒",
    "菅家",
    "坂内",
    "渡辺",
    "小椋",
    "酒井",
    "伊藤",
    "二瓶",
    "猪俣",
    "会田",
    "横山",
)
_GIVEN: dict[tuple[bool, Gender], tuple[str, ...]] = {
    (True, "female"): ("和子", "節子", "幸子", "洋子", "美智子", "恵子", "京子", "悦子", "久子", "照子"),
    (True, "male"): ("茂", "清", "勇", "実", "進", "博", "弘", "正雄", "和夫", "昭二"),
    (False, "female"): ("美咲", "彩香", "愛", "麻衣", "沙織", "真由美", "舞", "優子", "絵美", "千尋"),
    (False, "male"): ("大輔", "翔太", "拓也", "健太", "直樹", "亮", "誠", "達也", "和也", "雄大"),
}


def _seed(username: str) -> int:
    # Not hash(): that is salted per process, and these must be the same everywhere.
    return int.from_bytes(hashlib.sha256(username.encode()).digest()[:8], "big")


def _person(username: str, *, elderly: bool, gender: Gender, taken: set[str]) -> str:
    """A name for ``username``, different from the names already ``taken`` in the same town."""
    seed = _seed(username)
    given = _GIVEN[elderly, gender]
    while True:
        name = f"{_SURNAMES[seed % len(_SURNAMES)]} {given[(seed // len(_SURNAMES)) % len(given)]}"
        if name not in taken:
            taken.add(name)
            return name
        seed += 1


def _birthdate(username: str, *, elderly: bool) -> str:
    seed = _seed(username) >> 16
    year = (1936 + seed % 20) if elderly else (1975 + seed % 25)
    return f"{year:04d}-{1 + (seed >> 8) % 12:02d}-{1 + (seed >> 16) % 28:02d}"


def _gun(town: Tenant) -> str:
    """The 郡 a town or village belongs to (cities have none), read from its town-hall address."""
    match = re.search(PREFECTURE + r"(\S+?郡)" + re.escape(town.name_ja), town.contact.address_ja)
    return match.group(1) if match else ""


def _fallback_postal_code(town: Tenant) -> str:
    match = re.search(r"〒(\d{3})-(\d{2})", town.contact.address_ja)
    return f"{match.group(1)}-{match.group(2)}00" if match else "960-0000"


def home_address(town: Tenant) -> Address:
    district, number, postal = _HOMES.get(
        town.slug, ((town.districts or [""])[0], "1番地", _fallback_postal_code(town))
    )
    street = district + number
    return Address(
        formatted=f"{PREFECTURE}{_gun(town)}{town.name_ja}{street}",
        postal_code=postal,
        locality=town.name_ja,
        street_address=street,
    )


def _town_users(issuer_url: str, town: Tenant, index: int) -> list[DemoUser]:
    slug = town.slug
    # Half the towns' card-verified residents are elderly, the others younger: the sign-in and
    # prefill must work for both (many of the region's residents who come online are over 70).
    elderly = index % 2 == 0
    gender: Gender = "female" if index % 4 in (0, 3) else "male"
    other: Gender = "male" if gender == "female" else "female"
    resident = f"{slug}.resident"
    basic = f"{slug}.resident-basic"
    taken: set[str] = set()
    users = [
        DemoUser(
            username=resident,
            subject=subject_for(issuer_url, resident),
            name=_person(resident, elderly=elderly, gender=gender, taken=taken),
            acr="jpki",
            roles=("resident",),
            group=slug,
            tenant=slug,
            address=home_address(town),
            birthdate=_birthdate(resident, elderly=elderly),
            gender=gender,
            description_ja="住民（マイナンバーカードで本人確認済み）",
            description_en="Resident, verified with a My Number Card",
        ),
        DemoUser(
            username=basic,
            subject=subject_for(issuer_url, basic),
            name=_person(basic, elderly=False, gender=other, taken=taken),
            acr="aal1",
            roles=("resident",),
            group=slug,
            tenant=slug,
            description_ja="住民（カード未確認・氏名は自己申告）",
            description_en="Resident, not card-verified (self-declared name)",
        ),
    ]
    staff: list[tuple[str, Role, str, str]] = [
        ("caseworker", "caseworker", "職員（窓口・審査担当）", "Staff: case worker"),
        ("admin", "tenant-admin", "職員（自治体管理者）", "Staff: municipality administrator"),
        ("admin2", "tenant-admin", "職員（自治体管理者・承認者）", "Staff: administrator, second approver"),
    ]
    for suffix, role, ja, en in staff:
        username = f"{slug}.{suffix}"
        users.append(
            DemoUser(
                username=username,
                subject=subject_for(issuer_url, username),
                name=_person(username, elderly=False, gender="female" if _seed(username) % 2 else "male", taken=taken),
                acr="aal2",
                roles=(role,),
                group=slug,
                organization=slug,
                description_ja=ja,
                description_en=en,
            )
        )
    return users


def _council_users(issuer_url: str, region: Region) -> list[DemoUser]:
    users = []
    taken: set[str] = set()
    for username in ("council.member", "council.member2"):
        users.append(
            DemoUser(
                username=username,
                subject=subject_for(issuer_url, username),
                name=_person(username, elderly=False, gender="male" if _seed(username) % 2 else "female", taken=taken),
                acr="aal2",
                roles=("council",),
                group=region.council.slug,
                description_ja="協議会（全市町村の指標を閲覧）",
                description_en="Regional council: reads all towns' KPIs",
            )
        )
    return users


def demo_users(region: Region, issuer_url: str) -> dict[str, DemoUser]:
    """Every demo user by username, in the order the sign-in page lists them."""
    users = [u for i, town in enumerate(region.towns) for u in _town_users(issuer_url, town, i)]
    users += _council_users(issuer_url, region)
    return {u.username: u for u in users}


def demo_residents(region: Region, issuer_url: str) -> list[tuple[str, str, date | None]]:
    """(town, subject, birth date) of every demo resident: what ``aizu seed`` imports into the
    towns' resident directories in development, as a town's register import would."""
    return [
        (u.tenant, u.subject, date.fromisoformat(u.birthdate) if u.birthdate else None)
        for u in demo_users(region, issuer_url).values()
        if "resident" in u.roles and u.tenant
    ]
