"""The retriever seam: signals are named, fused by name, and a new one is one class plus one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

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


def _reference(fused: np.ndarray, absent: np.ndarray | None) -> list[int]:
    """The ranking as one full stable sort gives it, cut before the first principle not found."""
    out = []
    for j in np.argsort(-fused, kind="stable"):
        if absent is not None and absent[j]:
            break
        out.append(int(j))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_ranking_is_what_a_full_sort_gives(kb: KnowledgeBase, seed: int) -> None:
    from service.retrieval import Ranking

    catalog = kb.index.catalog
    rng = np.random.default_rng(seed)
    n = len(catalog)
    keep = rng.random(n) < (1.0 if seed % 2 else 0.7)
    candidates = np.flatnonzero(keep)
    # few distinct values: ties everywhere, across every cut
    fused = rng.integers(0, 6 + seed * 20, candidates.size).astype(np.float64)
    absent = (rng.random(candidates.size) < 0.1) if seed >= 3 else None
    ranking = Ranking(catalog, candidates, fused, absent)
    ids = [catalog.principles[int(candidates[j])].id for j in _reference(fused, absent)]
    assert len(ranking) == len(ids)
    for k in (1, 3, 10, 41, n):
        assert ranking.ids(k) == ids[:k]
        assert [s for _, s in ranking.top(k)] == [
            float(fused[candidates.tolist().index(catalog.position[i])]) for i in ids[:k]
        ]
    asked = list(rng.choice([p.id for p in catalog.principles], 25, replace=False))
    assert ranking.arrange(asked) == [i for i in ids if i in set(asked)]


def test_ann_search_finds_the_principles_exact_search_finds(kb: KnowledgeBase, tmp_path: Path) -> None:
    import json
    import shutil

    from service.retrieval.dense import ANN_FILE, AnnSettings, DenseRetriever, build_ann

    folder = tmp_path / "build"
    shutil.copytree(kb.index.path, folder)
    exact = kb.index.retriever("dense")
    assert isinstance(exact, DenseRetriever) and exact.ann is None
    build_ann(exact._matrix, folder, AnnSettings(candidates=128, ef_search=256))
    ann = DenseRetriever.load(LoadContext(kb.index.catalog, kb.index.manifest.dimension), folder)
    assert ann.ann is not None and (folder / ANN_FILE).exists()
    gold = Path(__file__).resolve().parents[1] / "eval" / "tune.jsonl"
    texts = [
        json.loads(line)["query"] for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    recall = []
    for text in texts[:60]:
        query = kb.encoder.query(text)
        a, e = ann.score(query), exact.score(query)
        top_a = set(np.argsort(-a.values, kind="stable")[:10].tolist())
        top_e = set(np.argsort(-e.values, kind="stable")[:10].tolist())
        recall.append(len(top_a & top_e) / 10)
        # a principle the graph reached is scored exactly, over all its vectors (to the float rounding
        # of a product over fewer rows)
        assert np.allclose(a.values[a.present], e.values[a.present], atol=1e-6)
        unreached = int(np.flatnonzero(~a.present)[0])
        assert a.value(unreached) is None  # null on the wire: dense did not find it
    assert np.mean(recall) >= 0.99


def test_a_large_build_writes_and_serves_the_ann_index(
    corpus: Any, fake_embedder: Any, tmp_path: Path
) -> None:
    from service.build.index import build_index
    from service.index import load_index
    from service.retrieval import AnnConfig
    from service.retrieval.dense import ANN_FILE, DenseRetriever

    small = build_index(corpus, fake_embedder(), tmp_path / "exact", ann=AnnConfig(10**9, 64, 64))
    large = build_index(corpus, fake_embedder(), tmp_path / "ann", ann=AnnConfig(1000, 64, 64))
    assert ANN_FILE not in small.files and ANN_FILE in large.files  # checksummed like every file
    index = load_index(tmp_path / "ann", corpus_dir=Settings().corpus_dir, model="fake-embedder")
    dense = index.retriever("dense")
    assert isinstance(dense, DenseRetriever) and dense.ann is not None
    p = corpus.principles[7]
    query = Query(p.title, p.title, fake_embedder().encode([p.title])[0])
    signal = dense.score(query)
    assert int(np.argmax(signal.values)) == index.catalog.position[p.id]  # its own title, cosine 1
