"""Tenant configuration: the real files load; each kind of fault stops start-up naming file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from contracts.tenants import ConfigError, check_digit, default_directory, load_region
from services.cli import main

ARCHITECTURE_TABLE = {
    "aizuwakamatsu": ("会津若松市", "072028"),
    "kitakata": ("喜多方市", "072087"),
    "kitashiobara": ("北塩原村", "074021"),
    "nishiaizu": ("西会津町", "074055"),
    "bandai": ("磐梯町", "074071"),
    "inawashiro": ("猪苗代町", "074080"),
    "aizubange": ("会津坂下町", "074217"),
    "yugawa": ("湯川村", "074225"),
    "yanaizu": ("柳津町", "074233"),
    "mishima": ("三島町", "074446"),
    "kaneyama": ("金山町", "074454"),
    "showa": ("昭和村", "074462"),
    "aizumisato": ("会津美里町", "074471"),
}


def test_the_thirteen_towns_and_the_council_load(region):
    assert {t.slug: (t.name_ja, t.code) for t in region.towns} == ARCHITECTURE_TABLE
    assert region.council.slug == "council"
    assert len(region.catalog.procedures) >= 10
    for town in region.towns:
        offered = {o.code for o in town.procedures}
        assert {"juminhyo-copy", "road-damage"} <= offered, town.slug


@pytest.mark.parametrize("code", [c for _, c in ARCHITECTURE_TABLE.values()])
def test_check_digit_matches_the_published_codes(code):
    assert check_digit(code[:5]) == int(code[5])


def test_check_digit_worked_example():
    # 07202: s = 0*6 + 7*5 + 2*4 + 0*3 + 2*2 = 47; 47 mod 11 = 3; 11 - 3 = 8
    assert check_digit("07202") == 8


@pytest.fixture
def tenants_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tenants"
    shutil.copytree(default_directory(), target)
    return target


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    edited, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern!r} not found in {path.name}"
    path.write_text(edited, encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "pattern", "replacement", "field", "reason"),
    [
        ("kitakata.toml", r'^code = "072087"', 'code = "072086"', "$.code", "check digit of 072086 should be 7"),
        ("bandai.toml", r'^primary = "#[0-9a-fA-F]{6}"', 'primary = "blue"', "$.branding.primary", "regex"),
        ("showa.toml", r'^code = "juminhyo-copy"', 'code = "no-such-procedure"', "$.procedures[", "unknown procedure"),
        ("yugawa.toml", r'^slug = "yugawa"', 'slug = "kitakata"', "$.slug", "duplicate slug"),
        ("mishima.toml", r'^population = \d+', 'population = "many"', "$.population", "Expected `int`"),
        ("showa.toml", r'^reference_prefix = "SHW"', 'reference_prefix = "KTK"', "$.reference_prefix", "duplicate reference prefix"),
        ("yanaizu.toml", r'^reference_prefix = "YNZ"', 'reference_prefix = "ynz"', "$.reference_prefix", "regex"),
    ],
)
def test_a_bad_file_stops_start_up_naming_file_field_and_reason(tenants_copy, file, pattern, replacement, field, reason):
    _edit(tenants_copy / file, pattern, replacement)
    with pytest.raises(ConfigError) as caught:
        load_region(tenants_copy)
    assert caught.value.file.endswith(file)
    assert caught.value.field.startswith(field)
    assert reason in caught.value.reason


def test_a_slug_that_does_not_match_its_file_name_is_refused(tenants_copy):
    (tenants_copy / "kaneyama.toml").rename(tenants_copy / "kanayama.toml")
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_region(tenants_copy)


def test_broken_toml_names_the_file(tenants_copy):
    (tenants_copy / "inawashiro.toml").write_text("slug = [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_region(tenants_copy)
    assert caught.value.file.endswith("inawashiro.toml")
    assert "cannot read TOML" in caught.value.reason


def test_a_bad_catalog_definition_is_refused_with_its_path(tenants_copy):
    catalog = tenants_copy / "catalog.toml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace('kind = "choice"', 'kind = "choise"', 1), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_region(tenants_copy)
    assert caught.value.file.endswith("catalog.toml")
    assert re.match(r"\$\.procedures\[\d+\]\.fields\[\d+\]\.kind", caught.value.field)


def test_aizu_tenants_check_runs_the_same_validation(tenants_copy, capsys):
    assert main(["--dir", str(tenants_copy), "tenants", "check"]) == 0
    assert "13 towns" in capsys.readouterr().out
    _edit(tenants_copy / "kitakata.toml", r'^code = "072087"', 'code = "072080"')
    assert main(["--dir", str(tenants_copy), "tenants", "check"]) == 2
    err = capsys.readouterr().err
    assert "kitakata.toml" in err and "$.code" in err


def test_an_extra_field_may_not_reuse_a_standard_name(tenants_copy):
    _edit(tenants_copy / "kitakata.toml", r'^name = "traffic_impact"', 'name = "description"')
    catalog = load_region(default_directory()).standard("road-damage")
    assert "description" in {f.name for f in catalog.fields}, "test assumes road-damage has a location field"
    with pytest.raises(ConfigError) as caught:
        load_region(tenants_copy)
    assert re.fullmatch(r"\$\.procedures\[\d+\]\.extra_fields\[0\]\.name", caught.value.field)
    assert "duplicate field name 'description'" in caught.value.reason
