"""A service's own words: gettext catalogues, one per language, read with Babel at start (the
``.po`` itself, so nothing is compiled before ``make dev`` or ``make test``).

A service keeps them in ``locale/<lang>/LC_MESSAGES/messages.po`` beside its code (the portal's
pages, the procedures' answer checks). Japanese is the source: every key is there, and a language
whose catalogue lacks a key, leaves it empty or marks it fuzzy reads that text in Japanese, as does
a language that has no catalogue. A language joins by adding its ``messages.po`` (a copy of
English's, translated), without a change of code here; which languages a reader can choose is the
contracts' ``Lang`` (Japanese and English today, see docs/architecture.md).

msgid is the key the code asks for (``answer_missing``), not the source text: the keys were the
code's names for its words before the catalogues, and a Japanese sentence changes more often than
what it is for. A text is a ``str.format`` template; its ``{placeholders}`` are the same in every
language, while each language may format a value its own way (``{date.year}年`` or ``{date}``). A
``#.`` note on a Japanese entry names the values a translation may use or leave out beyond the
Japanese text's own (tests/test_catalogues.py holds every catalogue to this).

Texts that a town writes (procedure names, labels, FAQ answers) are data, not catalogue entries:
they travel as the contracts' ``*_ja``/``*_en`` fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

SOURCE = "ja"
DOMAIN = "messages"


class Catalogue:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._texts: dict[str, dict[str, str]] = {}
        for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            with path.open("rb") as po:
                catalog = read_po(po, ignore_obsolete=True, abort_invalid=True)
            lang = path.parent.parent.name
            self._texts[lang] = {
                message.id: message.string
                for message in catalog
                if message.id and isinstance(message.id, str) and isinstance(message.string, str)
                and message.string and not message.fuzzy
            }
        if SOURCE not in self._texts:
            raise FileNotFoundError(f"no {SOURCE}/LC_MESSAGES/{DOMAIN}.po under {directory}")

    @property
    def languages(self) -> list[str]:
        """The languages that have a catalogue, Japanese first."""
        return sorted(self._texts, key=lambda lang: (lang != SOURCE, lang))

    def texts(self, lang: str) -> dict[str, str]:
        """One language's own entries (without the Japanese it falls back to)."""
        return dict(self._texts.get(lang, {}))

    def text(self, key: str, lang: str, **values: Any) -> str:
        """The text for ``key`` in ``lang`` (Japanese when it has none), filled in with ``values``.

        A key that Japanese lacks is a mistake in the code: it raises KeyError."""
        found = self._texts.get(lang, {}).get(key)
        chosen = found if found is not None else self._texts[SOURCE][key]
        return chosen.format(**values) if values else chosen
