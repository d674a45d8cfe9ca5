"""Search's policy: the fused ranking of the kept principles, each hit with its 0..1 relevance, and
whether the articles cover the query at all."""

from __future__ import annotations

from collections.abc import Collection

from service.hits import to_hit
from service.models import Hit, SearchRequest, SearchResponse
from service.query import Query
from service.retrieval import Variant
from service.served import Served

__all__ = ["relevance", "search"]


def search(
    req: SearchRequest,
    query: Query,
    served: Served,
    variant: Variant = "fused",
    within: Collection[str] | None = None,
) -> SearchResponse:
    """`within` keeps only those principle ids, beside the request's types and docs."""
    catalog = served.catalog
    types, docs = catalog.check_names(req.types, "types"), catalog.check_names(req.docs, "docs")
    mask = catalog.mask(types, docs, within)
    signals = served.retrieval.signals(query)
    ranked = served.retrieval.rank(signals, mask, req.k, variant)
    conf = served.judge.probability("search", query, served.retrieval, signals)
    hits: list[Hit] = []
    for r in ranked:
        rel = relevance(conf, r.score, ranked[0].score)
        if rel >= req.min_relevance:
            n = len(hits) + 1
            hits.append(to_hit(r, n, "lead" if n == 1 else "context", relevance=rel))
    return SearchResponse(query=query.text, answered=served.judge.covers(conf), confidence=conf, hits=hits)


def relevance(confidence: float, score: float, top: float) -> float:
    """A hit's relevance in 0..1, comparable across requests: the calibrated probability that the
    articles cover the query (the confidence model), shared out by the fused score relative to the top
    hit (fused scores are min-max scaled per request, so only their ratio carries over)."""
    share = 1.0 if top <= 0 else min(max(score / top, 0.0), 1.0)
    return round(confidence * share, 6)
