"""The FAQ's questions and answers: the regional base, each town's overrides, and their search.

``tenants/faq/regional.toml`` holds the answers shared by all towns; ``tenants/faq/<slug>.toml``
may replace an answer by id (``[[overrides]]``) or add the town's own questions (``[[entries]]``).
Everything is checked at load, so a wrong file stops start-up with its name, field and reason,
the same way a bad ``tenants/<slug>.toml`` does.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from contracts.faq import Category, FaqHit
from contracts.tenants import ConfigError, Region, Tenant, decode_toml
from services.portal.search import Document, Hit, SearchIndex

REGIONAL_FILE = "regional.toml"
#: What an answer may say about the town; filled from ``tenants/<slug>.toml`` when shown.
PLACEHOLDERS = frozenset({"town", "phone", "hours"})

EntryId = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]

#: How much a match counts in each part of an entry: the question and how people ask it most.
WEIGHTS: Mapping[str, float] = {
    "question_ja": 3.0,
    "alternatives_ja": 2.5,
    "answer_ja": 1.0,
    "question_en": 3.0,
    "answer_en": 1.0,
}
#: A search whose best hit covers less of the question than this did not find a good answer.
GOOD_COVERAGE = 0.75


class Entry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: EntryId
    category: Category
    question_ja: Text
    answer_ja: Text
    alternatives_ja: list[Text] = []
    #: "" when there is no English version (the page then shows the Japanese).
    question_en: str = ""
    answer_en: str = ""
    procedure: str | None = None


class Override(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A town's own answer to a regional question."""

    id: EntryId
    answer_ja: Text
    answer_en: str = ""
    procedure: str | None = None


class RegionalFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    entries: list[Entry]


class TownFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    overrides: list[Override] = []
    entries: list[Entry] = []


class TownEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An entry as one town shows it: overrides applied, placeholders filled, and the procedure
    kept only when the town offers it."""

    entry: Entry
    town_specific: bool



def _check_text(path: Path, where: str, text: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ConfigError(path, where, f"unbalanced braces: {exc}") from exc
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ConfigError(path, where, f"unknown placeholder(s) {sorted(unknown)}; allowed: {sorted(PLACEHOLDERS)}")


def _check_entry(path: Path, where: str, item: Entry | Override, codes: set[str]) -> None:
    if item.procedure is not None and item.procedure not in codes:
        raise ConfigError(path, f"{where}.procedure", f"unknown procedure {item.procedure!r} (not in catalog.toml)")
    texts = {"answer_ja": item.answer_ja, "answer_en": item.answer_en}
    if isinstance(item, Entry):
        texts |= {"question_ja": item.question_ja, "question_en": item.question_en}
        if bool(item.question_en) != bool(item.answer_en):
            raise ConfigError(path, f"{where}.question_en", "question_en and answer_en go together: give both or neither")
    for name, text in texts.items():
        _check_text(path, f"{where}.{name}", text)


def _check_unique(path: Path, items: list[Entry], taken: Mapping[str, str]) -> None:
    seen = dict(taken)
    for i, entry in enumerate(items):
        if entry.id in seen:
            raise ConfigError(path, f"$.entries[{i}].id", f"duplicate id {entry.id!r} (already in {seen[entry.id]})")
        seen[entry.id] = path.name


def _fill(text: str, town: Tenant, lang: str) -> str:
    if "{" not in text:
        return text
    values = {
        "town": town.name_en if lang == "en" else town.name_ja,
        "phone": town.contact.phone,
        "hours": town.contact.hours_ja or "平日の日中",
    }
    return text.format_map(values)


class FaqBase:
    """Every town's FAQ, loaded and checked once; each town's search index is built on first use."""

    def __init__(self, regional: list[Entry], towns: Mapping[str, TownFile], region: Region) -> None:
        self._regional = regional
        self._towns = dict(towns)
        self._region = region
        self._entries: dict[str, list[TownEntry]] = {}
        self._indexes: dict[str, SearchIndex] = {}

    @classmethod
    def load(cls, directory: Path | str, region: Region) -> FaqBase:
        directory = Path(directory)
        codes = {p.code for p in region.catalog.procedures}
        regional_path = directory / REGIONAL_FILE
        regional = decode_toml(regional_path, RegionalFile).entries
        _check_unique(regional_path, regional, {})
        for i, entry in enumerate(regional):
            _check_entry(regional_path, f"$.entries[{i}]", entry, codes)
        shared = {e.id: REGIONAL_FILE for e in regional}
        slugs = {t.slug for t in region.towns}
        towns: dict[str, TownFile] = {}
        for path in sorted(directory.glob("*.toml")):
            if path.name == REGIONAL_FILE:
                continue
            if path.stem not in slugs:
                raise ConfigError(path, "$", f"no town {path.stem!r} in tenants/ (file names are town slugs)")
            town = decode_toml(path, TownFile)
            overridden: set[str] = set()
            for i, override in enumerate(town.overrides):
                where = f"$.overrides[{i}]"
                if override.id not in shared:
                    raise ConfigError(path, f"{where}.id", f"no regional question {override.id!r} to override")
                if override.id in overridden:
                    raise ConfigError(path, f"{where}.id", f"{override.id!r} overridden twice")
                overridden.add(override.id)
                _check_entry(path, where, override, codes)
            _check_unique(path, town.entries, shared)
            for i, entry in enumerate(town.entries):
                _check_entry(path, f"$.entries[{i}]", entry, codes)
            towns[path.stem] = town
        return cls(regional, towns, region)

    def _town(self, slug: str) -> Tenant:
        town = self._region.town(slug)
        if town is None:
            raise KeyError(f"no town {slug!r}")
        return town

    def entries(self, slug: str) -> list[TownEntry]:
        """The town's FAQ as shown there, in file order: the regional entries, then its own."""
        if slug not in self._entries:
            town = self._town(slug)
            own = self._towns.get(slug, TownFile())
            offered = {p.code for p in town.procedures}
            overrides = {o.id: o for o in own.overrides}
            shown: list[TownEntry] = []
            for entry, specific in [*((e, False) for e in self._regional), *((e, True) for e in own.entries)]:
                override = overrides.get(entry.id)
                if override is not None:
                    entry = msgspec.structs.replace(
                        entry,
                        answer_ja=override.answer_ja,
                        # No English override: the shared English answer would say something else.
                        answer_en=override.answer_en,
                        procedure=override.procedure or entry.procedure,
                    )
                    specific = True
                filled = msgspec.structs.replace(
                    entry,
                    question_ja=_fill(entry.question_ja, town, "ja"),
                    answer_ja=_fill(entry.answer_ja, town, "ja"),
                    question_en=_fill(entry.question_en, town, "en"),
                    answer_en=_fill(entry.answer_en, town, "en"),
                    procedure=entry.procedure if entry.procedure in offered else None,
                )
                shown.append(TownEntry(entry=filled, town_specific=specific))
            self._entries[slug] = shown
        return self._entries[slug]

    @property
    def towns(self) -> frozenset[str]:
        return frozenset(t.slug for t in self._region.towns)

    def indexed(self, slug: str) -> bool:
        return slug in self._indexes

    def index(self, slug: str) -> SearchIndex:
        if slug not in self._indexes:
            documents = [
                Document(
                    id=e.entry.id,
                    fields={
                        "question_ja": e.entry.question_ja,
                        "alternatives_ja": "\n".join(e.entry.alternatives_ja),
                        "answer_ja": e.entry.answer_ja,
                        "question_en": e.entry.question_en,
                        "answer_en": e.entry.answer_en,
                    },
                    weights=WEIGHTS,
                )
                for e in self.entries(slug)
            ]
            self._indexes[slug] = SearchIndex(documents)
        return self._indexes[slug]

    def search(self, slug: str, query: str, limit: int = 5) -> tuple[list[FaqHit], bool]:
        """The town's best answers and whether any is good enough (else the question is worth logging)."""
        hits = self.index(slug).search(query, limit)
        by_id = {e.entry.id: e for e in self.entries(slug)}
        answered = any(h.coverage >= GOOD_COVERAGE for h in hits)
        return [_hit(by_id[h.id], h) for h in hits], answered


def _hit(shown: TownEntry, hit: Hit) -> FaqHit:
    e = shown.entry
    return FaqHit(
        id=e.id,
        category=e.category,
        question_ja=e.question_ja,
        question_en=e.question_en,
        answer_ja=e.answer_ja,
        answer_en=e.answer_en,
        procedure=e.procedure,
        town_specific=shown.town_specific,
        score=hit.score,
    )
