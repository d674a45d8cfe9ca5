"""Hybrid retrieval: dense (max over each principle's vectors) and BM25, fused. The only ranking code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from service.index import LoadedIndex
from service.models import GroupInfo, Principle
from service.settings import Settings
from service.tokens import tokenize, words

Variant = Literal["fused", "dense", "bm25"]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Ranked:
    principle: Principle
    score: float
    dense: float | None
    bm25: float | None
    best_field: str | None  # which of the principle's texts the query was closest to
    best_text: str | None


@dataclass(frozen=True)
class DenseScores:
    best: FloatArray  # per principle: the highest cosine over its vectors
    best_owner: npt.NDArray[np.int64]  # per principle: which vector gave it


class Searcher:
    def __init__(self, index: LoadedIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.principles = index.records.principles
        self._owner_principle = np.array([o.principle for o in index.owners], dtype=np.int64)
        if np.any(np.diff(self._owner_principle) < 0) or len(set(self._owner_principle)) != len(
            self.principles
        ):
            raise ValueError("index vectors must be grouped by principle, every principle owning some")
        self._starts = np.flatnonzero(np.r_[True, np.diff(self._owner_principle) != 0])
        self._counts = np.diff(np.r_[self._starts, len(self._owner_principle)])
        self._vocab: dict[str, int] = dict(index.bm25.vocab_dict)
        # lookups every request needs, built once per index
        self.by_id = {p.id: p for p in self.principles}
        self._position = {p.id: i for i, p in enumerate(self.principles)}
        self.type_names = frozenset(t.name for t in index.records.types)
        self.doc_names = frozenset(p.source.doc for p in self.principles)
        self._types = np.array([p.type for p in self.principles])
        self._docs = np.array([p.source.doc for p in self.principles])
        groups = {g.id: g for g in index.records.groups}
        # the lists a principle introduces (as an overview), then the list it belongs to
        self.groups_of: dict[str, list[GroupInfo]] = {p.id: [] for p in self.principles}
        for g in groups.values():
            for o in g.overviews:
                self.groups_of[o].append(g)
        for p in self.principles:
            if p.group in groups and groups[p.group] not in self.groups_of[p.id]:
                self.groups_of[p.id].append(groups[p.group])
        # each list's members in the article's order
        self.members: dict[str, list[Principle]] = {g: [] for g in groups}
        for p in sorted(self.principles, key=lambda p: p.order or 0):
            if p.group in groups:
                self.members[p.group].append(p)

    def mask(self, types: set[str] | None = None, docs: set[str] | None = None) -> npt.NDArray[np.bool_]:
        keep = np.ones(len(self.principles), dtype=bool)
        if types:
            keep &= np.isin(self._types, list(types))
        if docs:
            keep &= np.isin(self._docs, list(docs))
        return keep

    def dense(self, qvec: FloatArray) -> DenseScores:
        # exact search over every vector (a few thousand): each principle's best needs all of its own
        n = self.index.vectors.ntotal
        sims, ids = self.index.vectors.search(qvec.reshape(1, -1), n)
        per_vector = np.empty(n, dtype=np.float32)
        per_vector[ids[0]] = sims[0]
        best = np.maximum.reduceat(per_vector, self._starts)
        # first vector of each principle reaching its maximum
        hit = per_vector == np.repeat(best, self._counts)
        first = np.flatnonzero(hit)
        owners = self._owner_principle[first]
        best_owner = np.zeros(len(self.principles), dtype=np.int64)
        best_owner[owners[::-1]] = first[::-1]
        return DenseScores(best.astype(np.float32), best_owner)

    def bm25(self, normalized_query: str) -> FloatArray:
        tokens = [t for t in tokenize(normalized_query) if t in self._vocab]
        if not tokens:
            return np.zeros(len(self.principles), dtype=np.float32)
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)

    def coverage(self, normalized_query: str) -> float:
        """Share of the query's words that occur anywhere in the corpus: near 1 for questions in the
        articles' vocabulary, near 0 for weather or code, whatever the embedding similarity says."""
        found = words(normalized_query)
        if not found:
            return 0.0
        return sum(w in self._vocab for w in found) / len(found)

    def rank(
        self,
        dense: DenseScores,
        bm25: FloatArray,
        keep: npt.NDArray[np.bool_],
        k: int,
        variant: Variant = "fused",
    ) -> list[Ranked]:
        candidates = np.flatnonzero(keep)
        if candidates.size == 0:
            return []
        d = dense.best[candidates]
        b = bm25[candidates]
        if variant == "dense":
            fused = d.astype(np.float64)
        elif variant == "bm25":
            fused = b.astype(np.float64)
        elif self.settings.fusion == "weighted":
            fused = self.settings.dense_weight * _minmax(d) + self.settings.bm25_weight * _minmax(b)
        else:
            fused = self._rrf(d, b)
        order = np.argsort(-fused, kind="stable")[:k]
        out = []
        for j in order:
            i = int(candidates[j])
            if variant == "bm25" and b[j] <= 0:
                break
            owner = self.index.owners[int(dense.best_owner[i])]
            out.append(
                Ranked(
                    principle=self.principles[i],
                    score=round(float(fused[j]), 6),
                    dense=round(float(d[j]), 6),
                    bm25=round(float(b[j]), 6) if b[j] > 0 else None,
                    best_field=owner.field,
                    best_text=owner.text,
                )
            )
        return out

    def scored(self, principle_id: str, dense: DenseScores, bm25: FloatArray, score: float) -> Ranked:
        """One principle with its own raw scores for the query, placed by the caller (through a link), not
        by its rank."""
        i = self._position[principle_id]
        owner = self.index.owners[int(dense.best_owner[i])]
        b = float(bm25[i])
        return Ranked(
            principle=self.principles[i],
            score=round(score, 6),
            dense=round(float(dense.best[i]), 6),
            bm25=round(b, 6) if b > 0 else None,
            best_field=owner.field,
            best_text=owner.text,
        )

    def _rrf(self, d: FloatArray, b: FloatArray) -> npt.NDArray[np.float64]:
        # reciprocal-rank fusion: w / (rrf_k + rank); a principle BM25 does not match gets no BM25 share
        s = self.settings
        dense_rank = _ranks(d)
        bm25_rank = _ranks(b)
        fused = s.dense_weight / (s.rrf_k + dense_rank)
        fused += np.where(b > 0, s.bm25_weight / (s.rrf_k + bm25_rank), 0.0)
        return fused


def _ranks(scores: FloatArray) -> npt.NDArray[np.float64]:
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, scores.size + 1)
    return ranks


def _minmax(x: FloatArray) -> npt.NDArray[np.float64]:
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-9:
        return np.zeros(x.size)
    return (x.astype(np.float64) - lo) / (hi - lo)
