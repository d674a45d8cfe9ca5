"""Retrieval: retrievers that each turn a `Query` into a named `Signal` over the catalog, and the fusion
of those signals into one ranking. The only ranking code.

    Query ──▶ dense ──┐
          ──▶ bm25  ──┼──▶ Signals {name: Signal} ──fuse──▶ [Ranked(score, signals={name: value})]
          ──▶ …     ──┘

A retriever is one class (the `Retriever` protocol: `build` writes its files into an index folder,
`load` reads them back, `score` scores a query) plus one line in `REGISTRY`; the wire's `scores` is the
`signals` dict, so a new signal shows up there by itself.
"""

from __future__ import annotations

from service.retrieval.base import (
    AnnConfig,
    BuildContext,
    Evidence,
    FloatArray,
    LoadContext,
    Ranked,
    Retriever,
    Signal,
    Signals,
)
from service.retrieval.bm25 import Bm25Retriever
from service.retrieval.dense import DenseRetriever
from service.retrieval.fusion import Ranking, Retrieval, Variant

__all__ = [
    "REGISTRY",
    "AnnConfig",
    "Bm25Retriever",
    "BuildContext",
    "DenseRetriever",
    "Evidence",
    "FloatArray",
    "LoadContext",
    "Ranked",
    "Ranking",
    "Retrieval",
    "Retriever",
    "Signal",
    "Signals",
    "Variant",
]

# name -> retriever class, in fusion order; `kb build` builds each, loading loads each
REGISTRY: dict[str, type[Retriever]] = {
    DenseRetriever.name: DenseRetriever,
    Bm25Retriever.name: Bm25Retriever,
}
