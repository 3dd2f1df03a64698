"""The services' words: one gettext catalogue per language, Japanese the source. A language joins
by adding its catalogue; every catalogue has Japanese's keys and fills in the same values."""

from __future__ import annotations

import shutil
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services.portal.view import WORDS
from services.procedures.answers import MESSAGES
from services.runtime.catalogue import Catalogue

ROOT = Path(__file__).resolve().parent.parent
LOCALES = sorted(ROOT.glob("services/*/locale"))
THIRD = """\
msgid ""
msgstr ""
"Language: ko\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "home"
msgstr "홈"

msgid "signed_in_as"
msgstr "{name} 님으로 로그인"

#, fuzzy
msgid "menu"
msgstr "메뉴"

msgid "sign_out"
msgstr ""
"""


def _names(text: str) -> set[str]:
    """The values a text fills in: ``{date.year}`` and ``{count:02}`` both read ``date``, ``count``."""
    return {
        field.split(".")[0].split("[")[0]
        for _, field, _, _ in string.Formatter().parse(text)
        if field is not None
    }


def test_every_service_with_words_has_its_catalogues() -> None:
    assert [p.parent.name for p in LOCALES] == ["insights", "portal", "procedures"]
    assert WORDS.languages == ["ja", "en"] and MESSAGES.languages == ["ja", "en"]


def test_a_third_language_joins_with_its_catalogue(tmp_path: Path) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(ROOT / "services/portal/locale", locale)
    (locale / "ko" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "ko" / "LC_MESSAGES" / "messages.po").write_text(THIRD, encoding="utf-8")

    words = Catalogue(locale)

    assert words.languages == ["ja", "en", "ko"]
    assert words.text("home", "ko") == "홈"
    assert words.text("signed_in_as", "ko", name="佐藤") == "佐藤 님으로 로그인"
    # Not in the catalogue, marked fuzzy (not yet checked) or left empty: it reads in Japanese.
    assert words.text("sign_in", "ko") == "ログイン"
    assert words.text("menu", "ko") == "メニュー"
    assert words.text("sign_out", "ko") == "ログアウト"
    # Japanese and English read as they did.
    assert words.text("home", "ja") == "ホーム" and words.text("home", "en") == "Home"


def test_a_language_without_a_catalogue_reads_in_japanese() -> None:
    assert WORDS.text("unread", "fr", count=3) == "未読 3 件"
    assert WORDS.text("unread", "en", count=3) == "3 unread"


def test_a_key_japanese_lacks_is_a_mistake() -> None:
    with pytest.raises(KeyError):
        WORDS.text("no_such_words", "en")


def test_a_service_needs_its_japanese_catalogue(tmp_path: Path) -> None:
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "en" / "LC_MESSAGES" / "messages.po").write_text(THIRD, encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        Catalogue(tmp_path)


def _problems(locale: Path) -> list[str]:
    """Each translation has every Japanese key and no other, and fills in the Japanese text's values,
    give or take those a ``#.`` note on the Japanese entry names."""
    with (locale / "ja" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        japanese = {m.id: m for m in read_po(po) if m.id}
    catalogue = Catalogue(locale)
    problems: list[str] = []
    for lang in catalogue.languages[1:]:
        texts = catalogue.texts(lang)
        problems += [f"{lang}: {key} is missing" for key in japanese.keys() - texts.keys()]
        problems += [f"{lang}: {key} is not in Japanese" for key in texts.keys() - japanese.keys()]
        for key in texts.keys() & japanese.keys():
            source = japanese[key]
            assert isinstance(source.string, str)
            noted = set().union(*(_names(note) for note in source.auto_comments))
            if (_names(texts[key]) ^ _names(source.string)) - noted:
                problems.append(f"{lang}: {key} fills in {sorted(_names(texts[key]))}, Japanese {sorted(_names(source.string))}")
    return sorted(problems)


@pytest.mark.parametrize("locale", LOCALES, ids=lambda p: p.parent.name)
def test_every_catalogue_has_japanese_keys_and_values(locale: Path) -> None:
    assert _problems(locale) == []


def test_the_check_names_what_a_catalogue_lacks_or_gets_wrong(tmp_path: Path) -> None:
    locale = tmp_path / "locale"
    shutil.copytree(ROOT / "services/procedures/locale", locale)
    (locale / "ko" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "ko" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid "missing"\nmsgstr "{lable}을(를) 입력하세요."\n\n'
        'msgid "date_after_today"\nmsgstr "{label}: 오늘 이후의 날짜는 입력할 수 없습니다."\n\n'
        'msgid "file_content"\nmsgstr "{label}: {types} 파일을 다시 첨부하세요."\n',
        encoding="utf-8",
    )
    problems = [p for p in _problems(locale) if p.startswith("ko:")]
    # a misspelt value and a value left out are caught; leaving out what a #. note allows is not
    assert "ko: missing fills in ['lable'], Japanese ['label']" in problems
    assert "ko: file_content fills in ['label', 'types'], Japanese ['kind', 'label', 'types']" in problems
    assert "ko: phone_wrong is missing" in problems
    assert not any(p.startswith("ko: date_after_today") for p in problems)
