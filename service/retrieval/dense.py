"""Dense retrieval: each principle's texts embedded (several vectors per principle, stored as a FAISS
flat index), a principle scoring the cosine of its closest vector.

A keyword's vector stands for a keyword search and counts only for a query about as short: a sentence
that merely contains a generic keyword (私域流量, 社群运营) sits close to that keyword's lone vector, so
every principle listing it tied for the lead and the keyword, not the problem, decided it.

Exact scoring is one matrix product over every vector: at today's 3,700 vectors a fraction of a
millisecond, at 370k (100 times the corpus) about 90 ms on one thread. A build with at least
KB_ANN_MIN_VECTORS vectors (100k) also writes an HNSW graph over them (`vectors.hnsw`, its search settings in
`ann.json`); serving then asks it for the query's nearest KB_ANN_CANDIDATES vectors, and each
principle they belong to is scored exactly over all its vectors. The principles it did not reach are
`present=False` (null on the wire, no share in RRF) at their title's cosine, capped at the lowest cosine
the graph returned: a lower bound on their own, so min-max fusion keeps its floor.
scripts/bench_scale.py measures its recall against exact search."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, Protocol, cast

import numpy as np

from service.errors import IndexError_
from service.query import Query
from service.retrieval.base import (
    BuildContext,
    DocumentVectors,
    Evidence,
    FloatArray,
    IntArray,
    LoadContext,
    Signal,
)
from service.texts import principle_fields

__all__ = ["ANN_FILE", "ANN_SETTINGS_FILE", "ENCODER_DIR", "AnnSettings", "DenseRetriever", "build_ann"]

VECTORS_FILE = "vectors.faiss"
OWNERS_FILE = "vector_owners.json"
ANN_FILE = "vectors.hnsw"
ANN_SETTINGS_FILE = "ann.json"
# graph degree and construction depth of the HNSW index: at 100k vectors M=16 builds in a minute or two
# on two cores; a 256-deep search reaches 0.99+ of the exact top 10 principles (scripts/bench_scale.py
# measures it at 10x and 100x, tests/test_retrieval.py on today's vectors)
ANN_M = 16
ANN_EF_CONSTRUCTION = 80
ENCODER_DIR = "encoder"
# a query longer than this (normalised characters) is no keyword search: keyword vectors sit out. The
# keyword searches people type are 2-6 characters
KEYWORD_QUERY_MAX_CHARS = 8


class _FlatIndex(Protocol):
    """The part of faiss.IndexFlatIP used here (faiss ships no type information)."""

    ntotal: int
    d: int

    def search(self, x: FloatArray, k: int) -> tuple[FloatArray, IntArray]: ...

    def reconstruct_n(self, i0: int, ni: int) -> FloatArray: ...


@dataclass(frozen=True)
class AnnSettings:
    """How the HNSW graph is searched, recorded by the build that wrote it (ann.json)."""

    candidates: int  # nearest vectors fetched per query
    ef_search: int  # search depth (at least `candidates`)


def build_ann(vectors: FloatArray, folder: Path, settings: AnnSettings) -> None:
    """Write the HNSW graph over `vectors` (inner product: cosine on unit rows) and its settings."""
    import faiss

    graph = faiss.IndexHNSWFlat(vectors.shape[1], ANN_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = ANN_EF_CONSTRUCTION
    graph.add(vectors)
    faiss.write_index(graph, str(folder / ANN_FILE))
    (folder / ANN_SETTINGS_FILE).write_text(json.dumps(asdict(settings)), encoding="utf-8")


def _rows_view(index: _FlatIndex) -> FloatArray:
    """The float32 rows a flat FAISS index (or an HNSW graph's flat storage) holds, without a copy: at
    370k vectors a copy would be another 760 MB. The view lives as long as `index`."""
    import faiss

    storage = getattr(index, "storage", None)
    flat = cast(_FlatIndex, faiss.downcast_index(storage)) if storage is not None else index
    n, d = int(flat.ntotal), int(flat.d)
    if n == 0 or not hasattr(flat, "get_xb"):  # not a FAISS flat index (a test's stand-in): a copy
        return np.ascontiguousarray(flat.reconstruct_n(0, n), dtype=np.float32).reshape(n, d)
    rows = faiss.rev_swig_ptr(flat.get_xb(), n * d)
    return np.asarray(rows, dtype=np.float32).reshape(n, d)


class DenseRetriever:
    name: ClassVar[str] = "dense"
    files: ClassVar[tuple[str, ...]] = (VECTORS_FILE, OWNERS_FILE)

    def __init__(
        self,
        vectors: _FlatIndex,
        owners: list[int],
        evidence: list[Evidence],
        ann: _FlatIndex | None = None,
        ann_settings: AnnSettings | None = None,
    ) -> None:
        self.vectors = vectors
        self.evidence = evidence
        self.ann = ann
        self._ann_settings = ann_settings
        # every principle's best needs every vector's cosine: one matrix product over the few thousand
        # rows, without the sort a FAISS search for all of them makes (0.9 ms of a 2.4 ms search)
        self._matrix = _rows_view(vectors)
        self._owner_principle = np.array(owners, dtype=np.int64)
        if np.any(np.diff(self._owner_principle) < 0):
            raise ValueError("index vectors must be grouped by principle, every principle owning some")
        self._starts = np.flatnonzero(np.r_[True, np.diff(self._owner_principle) != 0])
        self._counts = np.diff(np.r_[self._starts, len(self._owner_principle)])
        self._n = len(self._starts)
        # each principle's first vector (its title), for the principles an ANN search does not reach
        self._first_rows = (
            np.ascontiguousarray(self._matrix[self._starts]) if ann is not None else self._matrix[:0]
        )
        self._keyword = np.array([e.field == "keyword" for e in evidence], dtype=bool)
        if self._keyword.size != len(owners):
            raise ValueError("one piece of evidence per index vector")

    @classmethod
    def build(cls, ctx: BuildContext, folder: Path) -> Mapping[str, int | str | None]:
        import faiss

        owners = [
            (i, field, text) for i, p in enumerate(ctx.principles) for field, text in principle_fields(p)
        ]
        texts = [text for _, _, text in owners]
        vecs = ctx.embedder.encode(texts)
        flat = faiss.IndexFlatIP(vecs.shape[1])  # inner product on unit vectors == cosine similarity
        flat.add(vecs)
        faiss.write_index(flat, str(folder / VECTORS_FILE))
        if ctx.ann is not None and len(texts) >= ctx.ann.min_vectors:
            settings = AnnSettings(ctx.ann.candidates, max(ctx.ann.ef_search, ctx.ann.candidates))
            build_ann(vecs, folder, settings)
        (folder / OWNERS_FILE).write_text(
            json.dumps([list(o) for o in owners], ensure_ascii=False, indent=1, sort_keys=True),
            encoding="utf-8",
        )
        query_fields: Mapping[str, str | None] = {"encoder": None, "query_model": None}
        if ctx.query_side is not None:
            docs = DocumentVectors(vecs, np.array([i for i, _, _ in owners], dtype=np.int64), texts)
            query_fields = ctx.query_side(folder, docs)
        return {"dimension": int(vecs.shape[1]), "vectors": len(owners), **query_fields}

    @classmethod
    def load(cls, ctx: LoadContext, folder: Path) -> DenseRetriever:
        import faiss

        try:
            rows = json.loads((folder / OWNERS_FILE).read_text(encoding="utf-8"))
            ann, ann_settings = None, None
            if (folder / ANN_FILE).exists():
                # the graph holds the vectors too: they are read once, from it
                ann = cast(_FlatIndex, faiss.read_index(str(folder / ANN_FILE)))
                ann_settings = AnnSettings(
                    **json.loads((folder / ANN_SETTINGS_FILE).read_text(encoding="utf-8"))
                )
                vectors = ann
            else:
                vectors = cast(_FlatIndex, faiss.read_index(str(folder / VECTORS_FILE)))
        except (ValueError, RuntimeError, OSError, TypeError) as exc:
            raise IndexError_(f"index at {folder} cannot be read ({exc}): run `kb build`") from exc
        owners = [int(i) for i, _, _ in rows]
        if vectors.ntotal != len(owners) or vectors.d != ctx.dimension:
            raise IndexError_(f"index at {folder} is inconsistent with its manifest: run `kb build`")
        evidence = [Evidence(str(f), str(t)) for _, f, t in rows]
        retriever = cls(vectors, owners, evidence, ann, ann_settings)
        if retriever._n != len(ctx.catalog):
            raise ValueError("index vectors must be grouped by principle, every principle owning some")
        return retriever

    def score(self, query: Query) -> Signal:
        if self.ann is None or self._ann_settings is None:
            return self.score_exact(query)
        return self._score_ann(query, self.ann, self._ann_settings)

    def _score_ann(self, query: Query, ann: _FlatIndex, settings: AnnSettings) -> Signal:
        import faiss

        vector = query.vector.astype(np.float32)
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = settings.ef_search  # per call: concurrent requests share the graph
        sims, rows = ann.search(vector[None, :], settings.candidates, params=params)  # type: ignore[call-arg]
        long_query = len(query.normalized) > KEYWORD_QUERY_MAX_CHARS
        found = rows[0][rows[0] >= 0]
        if long_query:
            found = found[~self._keyword[found]]
        values = np.full(self._n, -1.0, dtype=np.float32)
        present = np.zeros(self._n, dtype=bool)
        # the first vector of a principle the graph did not reach stands as its evidence
        best_owner = self._starts.astype(np.int64).copy()
        if found.size == 0:
            return Signal(self.name, values, present, self.evidence, best_owner)
        # the principles reached, each scored exactly over all its vectors (a few thousand rows): the
        # graph finds a principle; its best vector need not be among the few it returned
        reached = np.unique(self._owner_principle[found])
        counts = self._counts[reached]
        offsets = np.r_[0, np.cumsum(counts)[:-1]]
        rows_all = np.repeat(self._starts[reached] - offsets, counts) + np.arange(int(counts.sum()))
        per_vector = self._matrix[rows_all] @ vector
        if long_query:
            per_vector[self._keyword[rows_all]] = -2.0
        best = np.maximum.reduceat(per_vector, offsets)
        hit = np.flatnonzero(per_vector == np.repeat(best, counts))
        group = np.searchsorted(offsets, hit, side="right") - 1
        first = np.unique(group, return_index=True)[1]  # each principle's first vector reaching its best
        values[reached] = best
        present[reached] = True
        best_owner[reached] = rows_all[hit[first]]
        # a principle the graph did not reach scores its first vector (its title), capped below every
        # cosine the graph returned: a lower bound on its own score, so that min-max fusion keeps about
        # the floor exact scores give it (with one constant floor instead, fusion agreed with exact
        # search on 0.78 of the fused top 10 at 10x)
        floor = float(sims[0][rows[0] >= 0].min())
        unreached = ~present
        values[unreached] = np.minimum(self._first_rows[unreached] @ vector, floor)
        return Signal(self.name, values, present, self.evidence, best_owner)

    def score_exact(self, query: Query) -> Signal:
        """Every vector scored: inner products of unit vectors are cosines."""
        per_vector = self._matrix @ query.vector.astype(np.float32)
        if len(query.normalized) > KEYWORD_QUERY_MAX_CHARS:
            # below any cosine: every principle has a title and a summary vector to fall back on
            per_vector[self._keyword] = -2.0
        best = np.maximum.reduceat(per_vector, self._starts)
        # first vector of each principle reaching its maximum
        hit = per_vector == np.repeat(best, self._counts)
        first = np.flatnonzero(hit)
        owners = self._owner_principle[first]
        best_owner = np.zeros(self._n, dtype=np.int64)
        best_owner[owners[::-1]] = first[::-1]
        return Signal(
            self.name,
            best.astype(np.float32),
            np.ones(self._n, dtype=bool),
            self.evidence,
            best_owner,
        )
