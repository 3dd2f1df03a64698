"""Japanese search: what residents type finds the procedure they mean, and nonsense finds nothing.

The catalog is the real one (tenants/catalog.toml); the tokenizer is the real Sudachi dictionary.
"""

from __future__ import annotations

import pytest

from contracts.procedures import ProcedureSummary
from contracts.tenants import Region
from services.portal import search
from services.portal.search import CatalogSearch, Document, SearchIndex, analyse


@pytest.fixture(scope="module")
def catalog(region: Region) -> CatalogSearch:
    return CatalogSearch(region.catalog.procedures)


def top(catalog: CatalogSearch, query: str) -> str | None:
    found = catalog.search(query, limit=3)
    return found[0].code if found else None


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("住民票", "juminhyo-copy"),
        ("住民票の写しがほしい", "juminhyo-copy"),
        ("印鑑証明", "inkan-certificate"),
        ("印鑑証明書を取りたい", "inkan-certificate"),
        ("戸籍謄本", "koseki-certificate"),
        ("児童手当", "child-allowance"),
        ("子どもの手当", "child-allowance"),
        ("保育園に入りたい", "nursery-admission"),
        ("粗大ゴミを出したい", "oversized-garbage"),
        ("道路に穴があいている", "road-damage"),
        ("除雪", "snow-removal-request"),
        # Kana: the reading meets the written word.
        ("じゅうみんひょう", "juminhyo-copy"),
        ("ジュウミンヒョウ", "juminhyo-copy"),
        ("じょせつ", "snow-removal-request"),
        # Width: half-width katakana and full-width Latin are folded first.
        ("ｼﾞｭｳﾐﾝﾋｮｳ", "juminhyo-copy"),
        ("ｲﾝｶﾝ", "inkan-certificate"),
        ("ＤＯＧ ＲＥＧＩＳＴＲＡＴＩＯＮ", "dog-registration"),
        # English on the English fields.
        ("residence certificate", "juminhyo-copy"),
        ("Seal Registration Certificate", "inkan-certificate"),
        ("nursery school", "nursery-admission"),
        ("broken streetlights", "streetlight-report"),
    ],
)
def test_finds_what_residents_mean(catalog: CatalogSearch, query: str, code: str) -> None:
    assert top(catalog, query) == code


def test_juminhyo_finds_only_the_residence_certificate(catalog: CatalogSearch) -> None:
    # 住民 alone (e.g. 住民登録 in another summary) does not make a document about 住民票.
    assert [p.code for p in catalog.search("住民票")] == ["juminhyo-copy"]


def test_spelling_variants_meet(catalog: CatalogSearch) -> None:
    variants = ["引越し", "引っ越し", "引越", "ひっこし"]
    results = [{p.code for p in catalog.search(v)} for v in variants]
    for found in results:
        assert {"moving-in", "moving-out"} <= found, results
    assert [p.code for p in catalog.search("ごみ")] == [p.code for p in catalog.search("ゴミ")]


@pytest.mark.parametrize("query", ["", "   ", "の", "です か？", "、。！", "asdfgh", "ほげほげ", "xyzzy plugh", "宇宙旅行"])
def test_empty_or_nonsense_finds_nothing(catalog: CatalogSearch, query: str) -> None:
    assert catalog.search(query) == []


def test_summaries_without_keywords_use_the_keywords_given(region: Region) -> None:
    """The portal receives ``ProcedureSummary`` over the bus: keywords come from the standard catalog."""
    summaries = [
        ProcedureSummary(
            code=p.code, name_ja=p.name_ja, name_en=p.name_en, category=p.category, summary_ja=p.summary_ja,
            summary_en=p.summary_en, assurance=p.assurance, fee_yen=p.fee_yen, processing_days=p.processing_days,
            located=p.located,
        )
        for p in region.catalog.procedures
    ]
    without = CatalogSearch(summaries)
    with_keywords = CatalogSearch(summaries, {p.code: p.keywords_ja for p in region.catalog.procedures})
    # ポットホール (a pothole) is only among the keywords.
    assert without.search("ポットホール") == []
    assert [p.code for p in with_keywords.search("ポットホール")] == ["road-damage"]
    assert isinstance(with_keywords.search("ポットホール")[0], ProcedureSummary)


def test_a_match_in_a_heavier_field_ranks_higher() -> None:
    index = SearchIndex(
        [
            Document(id="in-body", fields={"title": "証明書の案内", "body": "図書館の利用について"}, weights={"title": 3}),
            Document(id="in-title", fields={"title": "図書館の利用", "body": "証明書の案内"}, weights={"title": 3}),
        ]
    )
    hits = index.search("図書館")
    assert [h.id for h in hits] == ["in-title", "in-body"]
    assert hits[0].score > hits[1].score > 0


def test_rare_words_weigh_more_than_common_ones() -> None:
    docs = [Document(id=f"d{i}", fields={"t": "手続きの案内"}) for i in range(5)]
    docs.append(Document(id="rare", fields={"t": "除雪の手続き"}))
    index = SearchIndex(docs)
    assert index.idf("除雪") > index.idf("手続き") > 0
    assert index.search("除雪の手続き")[0].id == "rare"


def test_limit_and_order_are_kept(catalog: CatalogSearch) -> None:
    hits = catalog.index.search("ごみ", limit=1)
    assert len(hits) == 1
    assert catalog.index.search("ごみ", limit=0) == []
    many = catalog.index.search("通報", limit=10)
    assert [h.score for h in many] == sorted((h.score for h in many), reverse=True)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate document ids: \\['a'\\]"):
        SearchIndex([Document(id="a", fields={"t": "一"}), Document(id="a", fields={"t": "二"})])


def test_analysis_drops_particles_and_keeps_base_forms() -> None:
    found = analyse("マイナンバーカードを無くしました")
    assert "を" not in found.core and "ました" not in found.core
    assert "無くす" in found.core
    assert ("マイナンバー", "カード") in found.groups
    assert analyse("引越し").core == analyse("引っ越し").core


def test_the_dictionary_is_loaded_once() -> None:
    analyse("一度目")
    first = search._dictionary()
    analyse("二度目")
    assert search._dictionary() is first


def test_search_catalog_reuses_its_index_and_returns_the_callers_items(region: Region) -> None:
    procedures = list(region.catalog.procedures)
    first = search.search_catalog(procedures, "住民票")
    built = dict(search._catalogs)
    again = search.search_catalog(procedures, "印鑑証明")
    assert [p.code for p in first] == ["juminhyo-copy"] and [p.code for p in again] == ["inkan-certificate"]
    assert again[0] is next(p for p in procedures if p.code == "inkan-certificate")
    assert search._catalogs == built  # the same index, not a second one
    assert search.search_catalog(procedures, "") == []
