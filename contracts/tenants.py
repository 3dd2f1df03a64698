"""Configuration of the municipalities and the regional council, loaded from ``tenants/``.

Each town is one TOML file. Loading validates every file with msgspec and the rules msgspec
cannot express (the JIS X 0402 check digit, unique slugs, known procedures); any failure stops
start-up with the file, the field and the reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec

from contracts.catalog import Catalog, Code, FieldDef, StandardProcedure

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9]{1,30}$")]
Colour = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
LocalGovCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]

_T = TypeVar("_T")

COUNCIL_SLUG = "council"
CATALOG_FILE = "catalog.toml"
COUNCIL_FILE = "council.toml"


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    phone: str
    email: str
    address_ja: str
    address_en: str = ""
    url: str = ""
    hours_ja: str = ""


class Branding(msgspec.Struct, frozen=True, kw_only=True):
    primary: Colour
    accent: Colour
    logo: str = ""


class ProcedureOffer(msgspec.Struct, frozen=True, kw_only=True):
    """A standard procedure this town offers, with the town's own settings."""

    code: Code
    fee_yen: Annotated[int, msgspec.Meta(ge=0)] | None = None
    processing_days: Annotated[int, msgspec.Meta(ge=0, le=365)] | None = None
    department_ja: str | None = None
    department_en: str | None = None
    contact_phone: str | None = None
    extra_fields: list[FieldDef] = []


ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class QuietHours(msgspec.Struct, frozen=True, kw_only=True):
    """When a town sends no email or push but emergencies (Asia/Tokyo, ``HH:MM``; may span midnight).

    The inbox always receives at once; start == end means no quiet hours.
    """

    start: ClockTime = "21:00"
    end: ClockTime = "07:00"


class Office(msgspec.Struct, frozen=True, kw_only=True):
    """A counter where residents collect what they asked for (本庁, 支所, 出張所)."""

    name_ja: str
    name_en: str
    address_ja: str
    hours_ja: str


class Tenant(msgspec.Struct, frozen=True, kw_only=True):
    slug: Slug
    name_ja: str
    name_en: str
    kind_ja: str
    code: LocalGovCode
    #: The letters that begin the town's references (受付番号): ``KTK-2026-000123-4``.
    reference_prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    population: Annotated[int, msgspec.Meta(ge=0)]
    contact: Contact
    branding: Branding
    districts: list[str] = []
    #: Where the town hall is (WGS 84 lat, long): where the report map opens.
    centre: Annotated[list[float], msgspec.Meta(min_length=2, max_length=2)] | None = None
    procedures: list[ProcedureOffer] = []
    #: Outbound email and push wait for the end of these hours, except emergency alerts.
    quiet_hours: QuietHours = QuietHours()
    #: Where documents can be collected; none listed: the town hall at ``contact``.
    offices: list[Office] = []

    def pickup_offices(self) -> list[Office]:
        return self.offices or [Office(name_ja=f"{self.name_ja}役場" if self.kind_ja != "市" else f"{self.name_ja}役所",
                                       name_en=f"{self.name_en} office", address_ja=self.contact.address_ja,
                                       hours_ja=self.contact.hours_ja)]


class Council(msgspec.Struct, frozen=True, kw_only=True):
    slug: Slug = COUNCIL_SLUG
    name_ja: str
    name_en: str
    contact: Contact
    branding: Branding


class Region(msgspec.Struct, frozen=True, kw_only=True):
    catalog: Catalog
    towns: tuple[Tenant, ...]
    council: Council

    def town(self, slug: str) -> Tenant | None:
        return next((t for t in self.towns if t.slug == slug), None)

    def standard(self, code: str) -> StandardProcedure | None:
        return next((p for p in self.catalog.procedures if p.code == code), None)


class ConfigError(Exception):
    """A configuration file is wrong: which file, which field, why."""

    def __init__(self, file: Path | str, field: str, reason: str) -> None:
        super().__init__(f"{file}: {field}: {reason}")
        self.file = str(file)
        self.field = field
        self.reason = reason


def check_digit(first_five: str) -> int:
    """JIS X 0402 check digit of a local government code."""
    s = sum(w * int(d) for w, d in zip((6, 5, 4, 3, 2), first_five, strict=True))
    return (11 - s % 11) % 10


def decode_toml(path: Path, type_: type[_T]) -> _T:
    """A TOML file as ``type_``; a failure is a ``ConfigError`` naming the file and the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path, "$", f"cannot read TOML: {exc}") from exc
    try:
        return msgspec.convert(raw, type_)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `")
        if not message:
            message, where = str(exc), "$`"
        raise ConfigError(path, where.rstrip("`"), message) from exc


def _check_catalog(path: Path, catalog: Catalog) -> None:
    seen: set[str] = set()
    for i, proc in enumerate(catalog.procedures):
        if proc.code in seen:
            raise ConfigError(path, f"$.procedures[{i}].code", f"duplicate procedure code {proc.code!r}")
        seen.add(proc.code)
        _check_fields(path, f"$.procedures[{i}].fields", proc.fields)


def _check_fields(path: Path, where: str, fields: Iterable[FieldDef], taken: Iterable[str] = ()) -> None:
    """``taken``: names already used by the standard definition a town's extra fields extend."""
    names: set[str] = set(taken)
    for j, field in enumerate(fields):
        at = f"{where}[{j}]"
        if field.name in names:
            raise ConfigError(path, f"{at}.name", f"duplicate field name {field.name!r}")
        names.add(field.name)
        if field.kind == "choice" and not field.choices:
            raise ConfigError(path, f"{at}.choices", "a choice field needs at least one choice")
        if field.kind == "attachment":
            if field.max_bytes is None:
                raise ConfigError(path, f"{at}.max_bytes", "an attachment field needs max_bytes")
            if not field.media_types:
                raise ConfigError(path, f"{at}.media_types", "an attachment field needs media_types")
        if field.minimum is not None and field.maximum is not None and field.minimum > field.maximum:
            raise ConfigError(path, f"{at}.minimum", "minimum is greater than maximum")
        values = [c.value for c in field.choices]
        if len(values) != len(set(values)):
            raise ConfigError(path, f"{at}.choices", "duplicate choice value")


def _check_town(path: Path, town: Tenant, catalog: Catalog) -> None:
    if path.stem != town.slug:
        raise ConfigError(path, "$.slug", f"slug {town.slug!r} does not match the file name {path.stem!r}")
    expected = check_digit(town.code[:5])
    if int(town.code[5]) != expected:
        raise ConfigError(path, "$.code", f"check digit of {town.code} should be {expected}")
    known = {p.code for p in catalog.procedures}
    offered: set[str] = set()
    for i, offer in enumerate(town.procedures):
        if offer.code not in known:
            raise ConfigError(path, f"$.procedures[{i}].code", f"unknown procedure {offer.code!r}")
        if offer.code in offered:
            raise ConfigError(path, f"$.procedures[{i}].code", f"procedure {offer.code!r} offered twice")
        offered.add(offer.code)
        standard = next(p for p in catalog.procedures if p.code == offer.code)
        _check_fields(path, f"$.procedures[{i}].extra_fields", offer.extra_fields, (f.name for f in standard.fields))


def load_region(directory: Path | str) -> Region:
    """Load and validate every file in ``directory``; raise ConfigError on the first fault."""
    directory = Path(directory)
    catalog_path = directory / CATALOG_FILE
    catalog = decode_toml(catalog_path, Catalog)
    _check_catalog(catalog_path, catalog)
    council = decode_toml(directory / COUNCIL_FILE, Council)
    towns: list[Tenant] = []
    slugs: dict[str, Path] = {council.slug: directory / COUNCIL_FILE}
    codes: dict[str, Path] = {}
    prefixes: dict[str, Path] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name in (CATALOG_FILE, COUNCIL_FILE):
            continue
        town = decode_toml(path, Tenant)
        if town.slug in slugs:
            raise ConfigError(path, "$.slug", f"duplicate slug {town.slug!r} (also in {slugs[town.slug].name})")
        if town.code in codes:
            raise ConfigError(path, "$.code", f"duplicate code {town.code} (also in {codes[town.code].name})")
        if town.reference_prefix in prefixes:
            raise ConfigError(path, "$.reference_prefix",
                              f"duplicate reference prefix {town.reference_prefix} (also in {prefixes[town.reference_prefix].name})")
        _check_town(path, town, catalog)
        slugs[town.slug] = path
        codes[town.code] = path
        prefixes[town.reference_prefix] = path
        towns.append(town)
    if not towns:
        raise ConfigError(directory, "$", "no town files found")
    return Region(catalog=catalog, towns=tuple(towns), council=council)


def default_directory() -> Path:
    """``tenants/`` at the project root (a deployment's settings may name another: ``AIZU_TENANTS_DIR``)."""
    return Path(__file__).resolve().parent.parent / "tenants"
