"""Retrieval on the real model, corpus and index. Queries are ours, written as operators would type them."""

from __future__ import annotations

import re

import pytest

from service.errors import UnknownTypeError
from service.kb import KnowledgeBase
from service.models import SearchRequest
from service.normalize import to_simplified


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


def test_citations_are_readable_and_keep_the_raw_quote(kb: KnowledgeBase) -> None:
    hits = kb.search(SearchRequest(query="群里只有广告怎么办", k=10, docs=["002"])).hits
    ad = next(h for h in hits if h.id == "p002-ad-only-groups")
    raw = (kb.settings.corpus_dir / "raw" / ad.source.doc).read_text(encoding="utf-8")
    assert ad.source.quote == raw[ad.source.start : ad.source.end]
    assert "廣告" in ad.source.quote and "只有廣告" not in ad.source.text
    assert ad.source.text.startswith("2、只有广告的微信群\n无论是免费群还是付费群")
    pinyin = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]+\)")
    # every article-002 citation: no (pinyin) annotation left, no traditional character left
    for h in hits:
        assert h.source.doc.startswith("002") and not pinyin.search(h.source.text), h.source.text
        assert to_simplified(h.source.text) == h.source.text
    assert any(pinyin.search(h.source.quote) for h in hits)  # the raw text has them


def test_ranks_and_roles(kb: KnowledgeBase) -> None:
    hits = kb.search(SearchRequest(query="社群运营就是卖货吗", k=5)).hits
    assert [(h.rank, h.role) for h in hits] == [(1, "lead")] + [(n, "context") for n in range(2, 6)]


def test_relevance_is_calibrated_and_thresholdable(kb: KnowledgeBase) -> None:
    good = kb.search(SearchRequest(query="群里全是广告怎么办", k=10))
    rel = [h.relevance or 0.0 for h in good.hits]
    assert rel == sorted(rel, reverse=True) and all(0 <= r <= 1 for r in rel)
    assert rel[0] == round(good.confidence, 6) and rel[0] > 0.5  # the top hit: P(the articles cover it)
    # nothing relevant: no top hit with a high relevance, and min_relevance leaves few or none
    for query in ["xyz", "红烧肉怎么做才好吃", "明天北京天气怎么样"]:
        noise = kb.search(SearchRequest(query=query, k=10))
        assert (noise.hits[0].relevance or 0.0) < 0.5, query
        assert kb.search(SearchRequest(query=query, k=10, min_relevance=0.5)).hits == []
    kept = kb.search(SearchRequest(query="群里全是广告怎么办", k=10, min_relevance=0.3)).hits
    assert kept and all((h.relevance or 0.0) >= 0.3 for h in kept) and len(kept) <= 10
    assert [h.rank for h in kept] == list(range(1, len(kept) + 1))
