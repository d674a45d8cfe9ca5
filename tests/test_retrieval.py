"""The retriever seam: signals are named, fused by name, and a new one is one class plus one line."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from service.catalog import Catalog
from service.kb import KnowledgeBase
from service.models import PrincipleQuery, SearchRequest
from service.query import Query
from service.retrieval import REGISTRY, BuildContext, LoadContext, Signal
from service.settings import Settings


class TitleLength:
    """A toy third signal that needs no files: shorter titles score higher."""

    name: ClassVar[str] = "toy"
    files: ClassVar[tuple[str, ...]] = ()

    def __init__(self, catalog: Catalog) -> None:
        self.values = np.array([1.0 / len(p.title) for p in catalog.principles], dtype=np.float32)

    @classmethod
    def build(cls, ctx: BuildContext, folder: Path) -> dict[str, int | str | None]:
        return {}

    @classmethod
    def load(cls, ctx: LoadContext, folder: Path) -> TitleLength:
        return cls(ctx.catalog)

    def score(self, query: Query) -> Signal:
        return Signal(self.name, self.values, np.ones(self.values.size, dtype=bool))


def test_a_third_signal_is_one_class_and_one_registration_line(
    settings: Settings, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, TitleLength.name, TitleLength)  # the registration line
    with_toy = KnowledgeBase.load(settings, kb.encoder.embedder.inner)
    hits = with_toy.search(SearchRequest(query="群里全是广告怎么办", k=5)).hits
    assert [list(h.scores) for h in hits] == [["dense", "bm25", "toy"]] * 5
    for h in hits:
        assert h.scores["toy"] == round(1.0 / len(h.title), 6)
    # it takes part in fusion (weight 1 unless configured): the ranking is no longer dense + BM25's
    plain = kb.search(SearchRequest(query="群里全是广告怎么办", k=5)).hits
    assert [h.score for h in hits] != [h.score for h in plain]
    # weighted 0, it is only shown: the ranking is dense + BM25's again
    silent = settings.model_copy(update={"signal_weights": {"toy": 0.0}})
    shown = KnowledgeBase.load(silent, kb.encoder.embedder.inner).search(
        SearchRequest(query="群里全是广告怎么办", k=5)
    )
    assert [(h.id, h.score) for h in shown.hits] == [(h.id, h.score) for h in plain]
    assert all(h.scores["toy"] is not None for h in shown.hits)


def test_one_signal_alone_ranks_by_that_signal(kb: KnowledgeBase) -> None:
    req = SearchRequest(query="群里全是广告怎么办", k=10)
    for name in ("dense", "bm25"):
        hits = kb.search(req, variant=name).hits
        values = [h.scores[name] for h in hits]
        assert hits and None not in values
        assert values == sorted(values, reverse=True)  # type: ignore[type-var]
        assert [h.score for h in hits] == values


class _Flat:
    """The part of faiss.IndexFlatIP the dense retriever reads, over a few vectors."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.x, self.ntotal, self.d = vectors.astype(np.float32), len(vectors), vectors.shape[1]

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        raise AssertionError("scores come from the stored vectors, not from a search")

    def reconstruct_n(self, i0: int, ni: int) -> np.ndarray:
        return self.x[i0 : i0 + ni]


def test_a_keyword_vector_counts_for_keyword_searches_only() -> None:
    from service.retrieval.base import Evidence
    from service.retrieval.dense import KEYWORD_QUERY_MAX_CHARS, DenseRetriever

    # principle 0: a title and the keyword 私域流量; principle 1: a title only
    title0, keyword, title1 = np.eye(3, dtype=np.float32)
    dense = DenseRetriever(
        _Flat(np.stack([title0, keyword, title1])),
        [0, 0, 1],
        [Evidence("title", "t0"), Evidence("keyword", "私域流量"), Evidence("title", "t1")],
    )
    vec = (0.9 * keyword + 0.3 * title0 + 0.2 * title1).astype(np.float32)
    short = Query("私域流量", "私域流量", vec)
    long = "我们的私域流量群全靠一个大咖撑着"
    assert len(long) > KEYWORD_QUERY_MAX_CHARS
    as_keyword = dense.score(short)
    assert as_keyword.value(0) == pytest.approx(0.9) and as_keyword.evidence(0) == Evidence(
        "keyword", "私域流量"
    )
    in_a_sentence = dense.score(Query(long, long, vec))
    # the same vector, but a sentence: principle 0 falls back to its title and no longer leads by the keyword
    assert in_a_sentence.value(0) == pytest.approx(0.3) and in_a_sentence.evidence(0) == Evidence(
        "title", "t0"
    )
    assert in_a_sentence.value(1) == pytest.approx(0.2)


def test_one_jieba_pass_gives_both_segmentations(kb: KnowledgeBase) -> None:
    from service import tokens
    from service.texts import principle_fields

    jieba = tokens._tokenizer()
    principles = kb.list_principles(PrincipleQuery(limit=40)).principles
    texts = [t for p in principles for _, t in principle_fields(p)]
    texts += ["社群运营工作者如何做好私域流量的精细化运营", "微信群不等于社群", "kol撑着群的活跃度"]
    for text in texts:
        # exactly what jieba's own search mode and precise mode give, each filtered the same way
        assert tokens.tokenize(text) == tokens._kept(tuple(jieba.lcut_for_search(text))), text
        assert tokens.words(text) == tokens._kept(tuple(jieba.lcut(text))), text
