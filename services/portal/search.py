"""Full-text search that understands Japanese: Sudachi morphemes ranked by BM25 over weighted fields.

Why Sudachi (``sudachipy`` + ``sudachidict_core``) rather than janome: it normalises spelling
variants itself (引越し → 引っ越し, ﾏｲﾅﾝﾊﾞｰ → マイナンバー, 貰う/もらう), loads in ~0.1 s and
tokenizes ~25× faster than janome on this machine, and is maintained.

Why a small BM25 here rather than ``rank-bm25``/``bm25s``: neither weights fields (a match in a
procedure's name must count more than one in its description), rank-bm25 is unmaintained and
floors negative IDFs with an epsilon hack, bm25s pulls in numpy/scipy for a corpus of a few
hundred short documents. The scoring below is Lucene's BM25 (IDF ``ln(1 + (N-df+.5)/(df+.5))``,
always positive) with per-field weights folded into term frequency and length (BM25F-lite).

Three kinds of terms are indexed for every text:

- *core*: the normalised form of each short-unit (mode A) content word, so 印鑑証明 meets
  印鑑登録証明書 on 印鑑 + 証明; English words lower-cased with plurals folded;
- *compounds*: long-unit (mode C) words made of several short ones (住民票, 児童手当), which
  only add to the score of a document that has the whole word;
- *readings*: the katakana reading, used only when a query is all kana, because a tokenizer
  cannot know which word じゅうみんひょう is, but its reading is in ジュウミンヒョウ (住民票):
  the query's reading must appear whole in the document's; its bigrams add to the score.

A document is a hit only when it covers at least half the query's meaning: the IDF-weighted share
of its words found whole (住民票 needs both 住民 and 票), or for a kana query, its reading. A query
of particles, or of words no document has, returns nothing, never everything.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from sudachipy import Dictionary, Morpheme, Tokenizer

K1 = 1.2
B = 0.75
#: The least IDF-weighted share of a query's terms a document must contain to be a hit.
MIN_COVERAGE = 0.5
#: Reading bigrams are weaker evidence than words (homophones, chance overlaps).
READING_WEIGHT = 0.5
READING_MIN_COVERAGE = 0.75
#: Queries longer than this are cut: nobody types more into a search box, and it bounds the work.
MAX_QUERY_CHARS = 200

#: Parts of speech (Sudachi's first level) that carry no meaning for search.
_SKIPPED_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白", "代名詞", "接続詞", "感動詞", "連体詞"})
#: Words too common in questions to tell documents apart (normal forms).
_STOP_JA = frozenset(
    {
        "する", "為る", "ある", "有る", "在る", "いる", "居る", "なる", "成る", "できる", "出来る", "れる", "られる",
        "いう", "言う", "思う", "こと", "事", "もの", "物", "ため", "為", "よう", "様", "ところ", "所", "とき", "時",
        "いい", "良い", "よい", "どう", "なに", "何", "ほしい", "欲しい", "くださる", "下さる", "もらう", "貰う", "教える",
        "知る", "分かる", "わかる", "たい", "ない", "無い", "方", "さん", "お", "ご", "御",
    }
)
_STOP_EN = frozenset(
    """a an the and or of to in on for at by with from is are was were be been do does did can could
    i my me you your we our it its this that how what when where which who why will would should
    there have has had not no please want need get about into as if any""".split()
)
_LATIN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_KANA_ONLY = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\s]+$")
_HIRAGANA = re.compile(r"[\u3041-\u3096]")


_local = threading.local()


def _tokenizer() -> Tokenizer:
    """One tokenizer per thread (indexes may be built off the event loop), on one dictionary per
    process: loading the dictionary is the expensive part."""
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        tokenizer = _local.tokenizer = _dictionary().tokenizer()
    return tokenizer


@cache
def _dictionary() -> Dictionary:
    from sudachipy import Dictionary

    return Dictionary(dict="core")


def normalise(text: str) -> str:
    """Width and case folded (ＡＢＣ → abc, ｶﾅ → カナ), runs of space collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def to_katakana(text: str) -> str:
    return _HIRAGANA.sub(lambda m: chr(ord(m.group()) + 0x60), text)


def _english(word: str) -> str | None:
    word = word.removesuffix("'s")
    if word in _STOP_EN or (len(word) < 2 and not word.isdigit()):
        return None
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class Analysis:
    #: Content words, each as its short-unit terms: 住民票 → (住民, 票); 印鑑証明 → (印鑑, 証明).
    groups: tuple[tuple[str, ...], ...]
    #: Long-unit words of several short ones (住民票); they add to the score only.
    compounds: tuple[str, ...]
    #: The katakana reading, words run together, ``|`` where punctuation or a new text parts them.
    reading: str

    @property
    def core(self) -> tuple[str, ...]:
        return tuple(term for group in self.groups for term in group)

    @property
    def readings(self) -> tuple[str, ...]:
        """Reading bigrams, for scoring kana queries."""
        return tuple(bigram for part in self.reading.split("|") for bigram in _bigrams(part))


def _bigrams(reading: str) -> list[str]:
    if len(reading) < 2:
        return ["~" + reading] if reading else []
    return ["~" + reading[i : i + 2] for i in range(len(reading) - 1)]


def _term(morpheme: Morpheme) -> str | None:
    if morpheme.part_of_speech()[0] in _SKIPPED_POS:
        return None
    term = morpheme.normalized_form()
    if term in _STOP_JA or morpheme.dictionary_form() in _STOP_JA:
        return None
    # ゴミ and ごみ are one word to a reader.
    return to_katakana(term) if _KANA_ONLY.match(term) else term


def analyse(text: str) -> Analysis:
    """The terms of a text, in order, repeats kept (term frequency counts)."""
    from sudachipy import SplitMode

    text = normalise(text)[: MAX_QUERY_CHARS * 50]
    groups: list[tuple[str, ...]] = []
    compounds: list[str] = []
    reading: list[str] = []
    tokenizer = _tokenizer()
    # Latin words by our own rule; everything else through the Japanese tokenizer.
    for chunk in re.split(r"([a-z0-9']+)", text):
        if not chunk.strip():
            reading.append("|")
            continue
        if _LATIN.fullmatch(chunk):
            reading.append("|")
            term = _english(chunk)
            if term:
                groups.append((term,))
            continue
        for long in tokenizer.tokenize(chunk, SplitMode.C):
            parts = list(long.split(SplitMode.A)) or [long]
            terms = tuple(t for t in (_term(m) for m in parts) if t)
            if terms:
                groups.append(terms)
            if len(parts) > 1 and long.part_of_speech()[0] == "名詞":
                compounds.append(long.normalized_form())
            for m in parts:
                pos = m.part_of_speech()[0]
                reading.append("|" if pos in ("空白", "補助記号", "記号") else to_katakana(m.reading_form()))
    return Analysis(groups=tuple(groups), compounds=tuple(compounds), reading="".join(reading))


def is_kana_only(text: str) -> bool:
    return bool(_KANA_ONLY.match(normalise(text)))


@dataclass(frozen=True, slots=True)
class Document:
    """``fields``: name → text; ``weights`` say how much a match in each field counts (default 1)."""

    id: str
    fields: Mapping[str, str]
    weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float
    #: IDF-weighted share of the query's terms found in the document (0..1).
    coverage: float


class SearchIndex:
    """Built once from documents, searched many times; safe to share (never mutated after build)."""

    def __init__(self, documents: Sequence[Document]) -> None:
        ids = [d.id for d in documents]
        if len(set(ids)) != len(ids):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate document ids: {duplicates}")
        self._ids = ids
        self._tf: list[dict[str, float]] = []
        self._length: list[float] = []
        self._reading: list[str] = []
        postings: dict[str, list[int]] = {}
        for number, doc in enumerate(documents):
            counts: Counter[str] = Counter()
            readings: list[str] = []
            for name, text in doc.fields.items():
                if not text:
                    continue
                weight = doc.weights.get(name, 1.0)
                found = analyse(text)
                for term in (*found.core, *found.compounds):
                    counts[term] += weight
                for term in found.readings:
                    counts[term] += weight * READING_WEIGHT
                readings.append(found.reading)
            self._tf.append(dict(counts))
            self._length.append(sum(counts.values()))
            self._reading.append("|".join(readings))
            for term in counts:
                postings.setdefault(term, []).append(number)
        self._postings = postings
        self._average = (sum(self._length) / len(self._length)) if self._length else 0.0

    def __len__(self) -> int:
        return len(self._ids)

    def idf(self, term: str) -> float:
        n, df = len(self._ids), len(self._postings.get(term, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _bm25(self, number: int, term: str) -> float:
        tf = self._tf[number].get(term, 0.0)
        if not tf:
            return 0.0
        norm = 1 - B + B * self._length[number] / (self._average or 1.0)
        return self.idf(term) * tf * (K1 + 1) / (tf + K1 * norm)

    def _coverage(self, number: int, groups: Iterable[tuple[str, ...]]) -> float:
        """IDF-weighted share of the query's words the document has whole: 住民票 is covered by
        住民 and 票 together, not by 住民 alone."""
        terms = self._tf[number]
        total = covered = 0.0
        for group in set(groups):
            weight = sum(self.idf(t) for t in group)
            total += weight
            if all(t in terms for t in group):
                covered += weight
        return covered / total if total else 0.0

    def _reading_coverage(self, number: int, words: Sequence[str]) -> float:
        """Share (by length) of a kana query's words found, as written, in the document's reading."""
        total = sum(len(w) for w in words)
        return sum(len(w) for w in words if w in self._reading[number]) / total if total else 0.0

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        """Best first; empty for a query with no meaningful word or one no document covers."""
        query = query[:MAX_QUERY_CHARS]
        found = analyse(query)
        groups = set(found.groups)
        core = set(found.core)
        kana_words = to_katakana(normalise(query)).split() if is_kana_only(query) else []
        readings = {b for w in kana_words for b in _bigrams(w)}
        scored = core | set(found.compounds) | readings
        candidates = {n for t in core | readings for n in self._postings.get(t, ())}
        hits: list[Hit] = []
        for number in candidates:
            coverage = self._coverage(number, groups) if groups else 0.0
            if kana_words:
                by_reading = self._reading_coverage(number, kana_words)
                if by_reading >= READING_MIN_COVERAGE:
                    coverage = max(coverage, by_reading)
            if coverage < MIN_COVERAGE:
                continue
            score = sum(self._bm25(number, t) for t in scored)
            hits.append(Hit(id=self._ids[number], score=round(score, 4), coverage=round(coverage, 4)))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[: max(limit, 0)]


# --- the procedure catalog ------------------------------------------------------------------------

#: How much a match counts in each part of a procedure.
CATALOG_WEIGHTS: Mapping[str, float] = {
    "name_ja": 3.0,
    "keywords_ja": 2.0,
    "summary_ja": 1.0,
    "name_en": 3.0,
    "summary_en": 1.0,
}


class Procedure(Protocol):
    """What the catalog search reads of a procedure (``StandardProcedure``, ``ProcedureSummary``
    or ``ProcedureDetail`` all fit; keywords are optional)."""

    code: str
    name_ja: str
    name_en: str
    summary_ja: str
    summary_en: str


P = TypeVar("P", bound=Procedure)


def catalog_documents(procedures: Iterable[Procedure], keywords: Mapping[str, Sequence[str]] | None = None) -> list[Document]:
    """``keywords``: code → extra words residents use (the standard catalog's ``keywords_ja``),
    for shapes that do not carry them, such as ``ProcedureSummary``."""
    keywords = keywords or {}
    documents = []
    for p in procedures:
        words = list(getattr(p, "keywords_ja", ()) or ()) + list(keywords.get(p.code, ()))
        fields = {
            "name_ja": p.name_ja,
            "keywords_ja": " 、".join(words),
            "summary_ja": p.summary_ja,
            "name_en": p.name_en,
            "summary_en": p.summary_en,
        }
        documents.append(Document(id=p.code, fields=fields, weights=CATALOG_WEIGHTS))
    return documents


class CatalogSearch(Generic[P]):
    """A town's procedures searchable by what residents type; build once per catalog and reuse."""

    def __init__(self, procedures: Iterable[P], keywords: Mapping[str, Sequence[str]] | None = None) -> None:
        self._procedures = {p.code: p for p in procedures}
        self.index = SearchIndex(catalog_documents(self._procedures.values(), keywords))

    def search(self, query: str, limit: int = 20) -> list[P]:
        return [self._procedures[hit.id] for hit in self.index.search(query, limit)]


#: Catalog indexes by content: a town's catalog changes rarely, its pages are read often.
_catalogs: dict[tuple[object, ...], SearchIndex] = {}
_MAX_CATALOGS = 64


def search_catalog(
    procedures: Sequence[P], query: str, keywords: Mapping[str, Sequence[str]] | None = None, limit: int = 20
) -> list[P]:
    """The procedures that match ``query``, best first, as the caller's own objects. The index is
    built on the first search of a catalog with this content and reused after."""
    keywords = keywords or {}
    key = tuple(
        (p.code, p.name_ja, p.name_en, p.summary_ja, p.summary_en, tuple(getattr(p, "keywords_ja", ()) or ()), tuple(keywords.get(p.code, ())))
        for p in procedures
    )
    index = _catalogs.get(key)
    if index is None:
        if len(_catalogs) >= _MAX_CATALOGS:
            _catalogs.clear()
        index = _catalogs[key] = SearchIndex(catalog_documents(procedures, keywords))
    by_code = {p.code: p for p in procedures}
    return [by_code[hit.id] for hit in index.search(query, limit)]
