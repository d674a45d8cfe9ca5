"""Fusion: the registered retrievers' named signals combined into one ranking over the catalog."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from service.catalog import BoolArray, Catalog
from service.query import Query
from service.retrieval.base import FloatArray, Ranked, Retriever, Signal, Signals

if TYPE_CHECKING:
    from service.index import LoadedIndex
    from service.settings import Settings

__all__ = ["Ranking", "Retrieval", "Variant"]

# "fused", or the name of one signal to rank by that signal alone (an ablation: scripts/eval.py)
Variant = str
Fusion = Literal["weighted", "rrf"]


@runtime_checkable
class _KnowsVocabulary(Protocol):
    def coverage(self, query: Query) -> float: ...


class Retrieval:
    """The retrievers of one index over its catalog, and how their signals fuse."""

    def __init__(
        self,
        catalog: Catalog,
        retrievers: Sequence[Retriever],
        weights: Mapping[str, float],
        fusion: Fusion = "weighted",
        rrf_k: int = 20,
    ) -> None:
        self.catalog = catalog
        self.retrievers = {r.name: r for r in retrievers}
        # a signal without a configured weight counts fully
        self.weights = {r.name: weights.get(r.name, 1.0) for r in retrievers}
        self.fusion = fusion
        self.rrf_k = rrf_k

    @classmethod
    def for_index(cls, index: LoadedIndex, settings: Settings) -> Retrieval:
        """The retrieval of a loaded index as the settings fuse it: what serving and the build's
        confidence fit both rank with."""
        return cls(
            index.catalog, index.retrievers, settings.fusion_weights(), settings.fusion, settings.rrf_k
        )

    def signals(self, query: Query, names: Iterable[str] | None = None) -> dict[str, Signal]:
        """Each retriever's signal for the query (or only the named ones), in registration order."""
        chosen = self.retrievers if names is None else {n: self.retrievers[n] for n in names}
        return {name: r.score(query) for name, r in chosen.items()}

    def coverage(self, query: Query) -> float:
        """Share of the query's words the corpus uses, from the first retriever that knows a vocabulary."""
        r = next((r for r in self.retrievers.values() if isinstance(r, _KnowsVocabulary)), None)
        return r.coverage(query) if r is not None else 0.0

    def search(self, query: Query, keep: BoolArray, k: int, variant: Variant = "fused") -> list[Ranked]:
        return self.rank(self.signals(query), keep, k, variant)

    def rank(self, signals: Signals, keep: BoolArray, k: int, variant: Variant = "fused") -> list[Ranked]:
        """The top k of the kept principles by fused score (or by one signal, when `variant` names it)."""
        return [self._ranked(signals, i, score) for i, score in self.ranking(signals, keep, variant).top(k)]

    def ranking(self, signals: Signals, keep: BoolArray, variant: Variant = "fused") -> Ranking:
        """The whole ranking of the kept principles, for a policy that places a few of them by their
        position in it: nothing is built, or sorted, for the principles it never asks about."""
        candidates = np.flatnonzero(keep)
        only = signals[variant] if variant != "fused" else None
        if candidates.size == 0:
            fused = np.zeros(0)
        elif only is not None:
            fused = only.values[candidates].astype(np.float64)
        elif self.fusion == "weighted":
            fused = np.zeros(candidates.size)
            for name, s in signals.items():
                fused = fused + self.weights[name] * _minmax(s.values[candidates])
        else:
            fused = self._rrf(signals, candidates)
        absent = None if only is None else ~only.present[candidates]
        return Ranking(self.catalog, candidates, fused, absent)

    def own_score(self, signals: Signals, principle_id: str) -> float:
        """A principle's own fused score for the query, as an unfiltered search would rank it: what a
        hit placed by a list or a link reports instead of the score of the hit that placed it."""
        i = self.catalog.position[principle_id]
        if self.fusion == "rrf":
            everyone = np.arange(len(self.catalog.principles))
            return round(float(self._rrf(signals, everyone)[i]), 6)
        fused = sum(self.weights[n] * _minmax(s.values)[i] for n, s in signals.items())
        return round(float(fused), 6)

    def placed(self, signals: Signals, principle_id: str, score: float) -> Ranked:
        """One principle with its own signals for the query, placed by the caller (through a list or a
        link) at `score`, not by its rank."""
        return self._ranked(signals, self.catalog.position[principle_id], score)

    def _ranked(self, signals: Signals, i: int, score: float) -> Ranked:
        evidence = next((e for s in signals.values() if (e := s.evidence(i)) is not None), None)
        return Ranked(
            principle=self.catalog.principles[i],
            score=round(score, 6),
            signals={name: s.value(i) for name, s in signals.items()},
            evidence=evidence,
        )

    def _rrf(self, signals: Signals, candidates: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # reciprocal-rank fusion: w / (rrf_k + rank); a principle a signal does not find gets no share of it
        fused = np.zeros(candidates.size)
        for name, s in signals.items():
            share = self.weights[name] / (self.rrf_k + _ranks(s.values[candidates]))
            fused = fused + np.where(s.present[candidates], share, 0.0)
        return fused


class Ranking:
    """Kept principles in fused-score order (ties: catalog order), as one argsort would put them, and,
    ranking by one signal, cut before the first principle that signal did not find. Only the head a
    caller asks for is sorted: with 17k principles a full sort and a Python list of them cost more
    than the rest of a request."""

    def __init__(
        self,
        catalog: Catalog,
        candidates: npt.NDArray[np.int64],
        fused: npt.NDArray[np.float64],
        absent: BoolArray | None,
    ) -> None:
        self._catalog = catalog
        self._candidates = candidates
        self._fused = fused
        # the cut: the ranking stops before the best-placed candidate the signal did not find
        self._size = candidates.size
        if absent is not None and absent.any():
            missing = np.flatnonzero(absent)
            self._size = int(_before(fused, missing[_head(fused[missing], 1)[0]]))

    def __len__(self) -> int:
        return self._size

    def top(self, k: int) -> list[tuple[int, float]]:
        """The first k as (catalog position, fused score)."""
        picked = _head(self._fused, min(k, self._size))
        return list(zip(self._candidates[picked].tolist(), self._fused[picked].tolist(), strict=True))

    def ids(self, k: int) -> list[str]:
        principles = self._catalog.principles
        return [principles[i].id for i, _ in self.top(k)]

    def arrange(self, ids: Iterable[str]) -> list[str]:
        """The given principles in ranking order, without those it does not hold (not kept, or past the
        cut)."""
        placed = []
        for pid in dict.fromkeys(ids):
            i = self._catalog.position[pid]
            j = int(np.searchsorted(self._candidates, i))  # candidates are in catalog order
            if (
                j < self._candidates.size
                and self._candidates[j] == i
                and _before(self._fused, j) < self._size
            ):
                placed.append((-float(self._fused[j]), j, pid))
        return [pid for *_, pid in sorted(placed)]


def _head(scores: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.int64]:
    """What np.argsort(-scores, kind="stable")[:k] gives (ties in index order), in O(n) for small k."""
    n = scores.size
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k >= n // 4:
        return np.argsort(-scores, kind="stable")[:k]
    cut = np.partition(scores, n - k)[n - k]  # the k-th largest
    chosen = np.flatnonzero(scores >= cut)  # every tie at the cut, in index order
    return chosen[np.argsort(-scores[chosen], kind="stable")][:k]


def _before(scores: npt.NDArray[np.float64], j: int) -> int:
    """How many entries a stable descending sort puts before entry j."""
    return int(np.count_nonzero(scores > scores[j]) + np.count_nonzero(scores[:j] == scores[j]))


def _ranks(scores: FloatArray) -> npt.NDArray[np.float64]:
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, scores.size + 1)
    return ranks


def _minmax(x: FloatArray) -> npt.NDArray[np.float64]:
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-9:
        return np.zeros(x.size)
    return (x.astype(np.float64) - lo) / (hi - lo)
