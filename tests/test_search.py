"""Retrieval on the real model, corpus and index. Queries are ours, written as operators would type them."""

from __future__ import annotations

import pytest

from service.errors import UnknownTypeError
from service.kb import KnowledgeBase
from service.models import SearchRequest


def top(kb: KnowledgeBase, query: str, k: int = 5, **kw: list[str]) -> list[str]:
    return [h.id for h in kb.search(SearchRequest(query=query, k=k, **kw)).hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("群要不要设置进群门槛", {"p004-no-entry-threshold", "p001-no-entry-filter"}),
        ("AIDASS模型是什么", {"p001-aidass-model"}),
        ("快闪群为什么需要剧本", {"p001-flash-group-script", "p001-group-type-flash"}),
        ("群公告应该怎么写", {"p001-rule-notice-benefit-first"}),
        ("群里有人发广告怎么处理", {"p002-ad-only-groups", "p002-ad-handling-overview"}),
    ],
)
def test_operator_queries_find_their_passage(kb: KnowledgeBase, query: str, expected: set[str]) -> None:
    assert expected & set(top(kb, query, 3))


@pytest.mark.parametrize(
    ("simplified", "traditional"),
    [
        ("微信群只有广告怎么办", "微信群只有廣告怎麼辦"),
        ("社群运营的核心要素有哪些", "社群運營的核心要素有哪些"),
        ("如何正确对待微信群", "如何正確對待微信群"),
    ],
)
def test_traditional_query_finds_what_simplified_finds(
    kb: KnowledgeBase, simplified: str, traditional: str
) -> None:
    assert top(kb, traditional) == top(kb, simplified)


def test_pinyin_and_spun_noise_in_queries(kb: KnowledgeBase) -> None:
    assert top(kb, "微信群運(yùn)營只有廣告") == top(kb, "微信群运营只有广告")
    assert top(kb, "把社群当做告白渠道") == top(kb, "把社群当做广告渠道")


def test_filters(kb: KnowledgeBase) -> None:
    hits = kb.search(SearchRequest(query="社群定位", k=20, types=["positioning_step"])).hits
    assert {h.type for h in hits} == {"positioning_step"}
    assert [h.order for h in sorted(hits, key=lambda h: h.order or 0)] == [1, 2, 3]
    hits = kb.search(SearchRequest(query="广告", k=50, docs=["003_937e83d800bfc096.txt"])).hits
    assert hits and {h.source.doc for h in hits} == {"003_937e83d800bfc096.txt"}


def test_unknown_type_names_the_field(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownTypeError, match="types: unknown type"):
        kb.search(SearchRequest(query="社群", types=["pitfalls"]))


def test_hits_explain_their_rank(kb: KnowledgeBase) -> None:
    hits = kb.search(SearchRequest(query="社群运营就是卖货吗", k=10)).hits
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(set(h.scores) == {"dense", "bm25"} for h in hits)
    # a cosine for every hit (dense scores every principle), a BM25 score for those sharing a word
    assert all(0.3 < (h.scores["dense"] or 0.0) <= 1.0 for h in hits)
    assert any(h.scores["bm25"] for h in hits)
