"""The residents directory: who a town can reach, and the attributes push-type rules select on.

Residents become known when their town imports them from its resident register (住民基本台帳);
nobody registers here. Until a town's import exists, :func:`seed` stands in for it
(``aizu seed residents --total 240000``): synthetic residents spread over the towns by their
population, districts from ``tenants/<town>.toml``, ages and children's ages drawn at random
with a fixed seed, and a share of them with email as their channel (addresses at the reserved
``.example`` domain, delivered to the development SMTP sink).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.tenants import Region
from services.notifications.broadcasts.tables import ResidentRow
from services.notifications.models import PreferenceRow
from services.runtime import rls

BATCH = 5000


def shares(region: Region, total: int) -> dict[str, int]:
    """``total`` residents split over the towns by population (largest remainders)."""
    population = sum(t.population for t in region.towns) or 1
    exact = {t.slug: total * t.population / population for t in region.towns}
    counts = {slug: int(v) for slug, v in exact.items()}
    for slug in sorted(exact, key=lambda s: exact[s] - counts[s], reverse=True)[: total - sum(counts.values())]:
        counts[slug] += 1
    return counts


def subject_of(town: str, n: int) -> str:
    return f"{town}-resident-{n:07d}"


def _people(
    town: str, districts: list[str], count: int, email_share: float, rng: random.Random, today: date
) -> Iterator[tuple[dict[str, object], dict[str, object] | None]]:
    now = datetime.now(UTC)
    for n in range(count):
        age = min(int(rng.expovariate(1 / 45)), 99)
        born = today - timedelta(days=age * 365 + rng.randrange(365))
        child = None
        if 22 <= age <= 50 and rng.random() < 0.35:
            child = today - timedelta(days=rng.randrange(15 * 365))
        subject = subject_of(town, n)
        resident = {
            "tenant": town, "subject": subject, "district": districts[n % len(districts)] if districts else None,
            "birthdate": born, "youngest_child_born": child, "push_consent": rng.random() < 0.7, "imported_at": now,
        }
        prefs = None
        if rng.random() < email_share:
            prefs = {"tenant": town, "subject": subject, "channels": "inbox,email",
                     "email": f"{subject}@{town}.example", "updated_at": now}
        yield resident, prefs


async def seed(session: AsyncSession, region: Region, total: int, email_share: float = 0.05, seed: int = 5) -> dict[str, int]:
    """Import ``total`` synthetic residents (replacing none: run it on an empty directory)."""
    rng = random.Random(seed)
    today = date.today()
    counts = shares(region, total)
    for town in region.towns:
        await rls.use_tenant(session, town.slug)  # row-level security binds the owner too
        residents: list[dict[str, object]] = []
        prefs: list[dict[str, object]] = []
        for resident, pref in _people(town.slug, list(town.districts), counts[town.slug], email_share, rng, today):
            residents.append(resident)
            if pref is not None:
                prefs.append(pref)
            if len(residents) >= BATCH:
                await _write(session, residents, prefs)
                residents, prefs = [], []
        await _write(session, residents, prefs)
        await session.commit()
    return counts


async def _write(session: AsyncSession, residents: list[dict[str, object]], prefs: list[dict[str, object]]) -> None:
    if residents:
        await session.execute(insert(ResidentRow), residents)
    if prefs:
        await session.execute(insert(PreferenceRow), prefs)


async def import_people(session: AsyncSession, people: list[tuple[str, str, date | None]]) -> int:
    """Import (town, subject, birth date) residents unless the town knows them already; returns
    how many were new. ``aizu seed`` imports the development issuer's demo residents this way, so
    the demo resident of each town receives its alerts like any imported resident."""
    added = 0
    now = datetime.now(UTC)
    for town in sorted({p[0] for p in people}):
        await rls.use_tenant(session, town)
        known = set((await session.execute(
            select(ResidentRow.subject).where(ResidentRow.tenant == town, ResidentRow.subject.in_([p[1] for p in people]))
        )).scalars())
        rows = [
            {"tenant": town, "subject": subject, "district": None, "birthdate": born, "youngest_child_born": None,
             "push_consent": True, "imported_at": now}
            for t, subject, born in people if t == town and subject not in known
        ]
        if rows:
            await session.execute(insert(ResidentRow), rows)
        added += len(rows)
    await session.commit()
    return added
