"""KnowledgeBase: the facade the HTTP API, the CLI and the chat-assistant tools all call.

It owns the index in use and the query encoder, builds each request's `Query` once, and hands it to
the policy of the operation (service/ask.py, service/diagnose.py; search is the fused ranking itself).
It satisfies `service.operations.Operations`, like the HTTP client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from service import ask as ask_policy
from service import diagnose as diagnose_policy
from service.adapt import AdaptConfig
from service.aliases import load_aliases
from service.catalog import BoolArray, Catalog
from service.confidence import Judge, calibrate, load_calibration
from service.corpus import load_corpus, read_curated
from service.documents import Documents
from service.embedder import Embedder, SentenceTransformerEmbedder
from service.hits import to_hit
from service.index import LoadedIndex, Manifest, build_index, load_index
from service.locks import corpus_lock
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Document,
    DocumentList,
    DocumentQuery,
    GroupList,
    Health,
    Hit,
    Principle,
    PrincipleList,
    PrincipleQuery,
    SearchBatchRequest,
    SearchBatchResponse,
    SearchRequest,
    SearchResponse,
    TypeList,
)
from service.query import Query, QueryEncoder, make_query_embedder
from service.query_model import QuerySide
from service.retrieval import Retrieval, Variant
from service.retrieval.vector_cache import VECTOR_CACHE_DIR, CachingEmbedder
from service.settings import Settings
from service.store.context import CallContext, new_request_id
from service.store.events import EventRecord, HitRecord
from service.store.learning import Learning
from service.store.models import FeedbackReceipt, FeedbackRequest
from service.store.querylog import QueryLog
from service.view_models import ArticleView

__all__ = ["KnowledgeBase", "build"]

log = logging.getLogger("kb")

Answer = TypeVar("Answer", SearchResponse, AskResponse, DiagnoseResponse)


def build(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[str], None] | None = None,
    retrain: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> Manifest:
    """Documents are always encoded by the base model on torch (fp32), through the vector cache: texts
    encoded by an earlier build are not encoded again. Then the query side: the query encoder adapted to
    the corpus (service/query_model.py) and its int8 ONNX copy (the previous build's copy when the model
    is the same). Last, with the index complete but not yet current, the confidence model is fitted on
    the labelled requests, run through that index exactly as they would be served.

    `retrain=False` (an article accepted or removed) reuses the latest adapted encoder instead of
    training one for the new corpus: a publish takes seconds, and the next `kb build` retrains.
    Holds the corpus write lock throughout."""
    with corpus_lock(settings.corpus_dir):
        corpus = load_corpus(settings.corpus_dir)
        aliases = load_aliases(settings.corpus_dir)
        embedder = embedder or SentenceTransformerEmbedder(settings.model)
        side = QuerySide(
            embedder, corpus.principles, aliases, settings.index_dir, settings.adapt,
            AdaptConfig(epochs=settings.adapt_epochs), progress, reuse_latest=not retrain,
        )  # fmt: skip
        examples = load_calibration(settings.corpus_dir)

        def finish(folder: Path, index: LoadedIndex) -> None:
            if not examples:
                return
            trained = isinstance(embedder, SentenceTransformerEmbedder)  # else a test's fake does both sides
            query_embedder = make_query_embedder(settings, index) if trained else embedder
            encoder = QueryEncoder(query_embedder, rewriters=[aliases])
            calibrate(examples, encoder, _Served(index, settings).retrieval, folder)

        cached = CachingEmbedder(embedder, settings.index_dir / VECTOR_CACHE_DIR)
        return build_index(
            corpus, cached, settings.index_dir, side, finish, settings.build_lock_timeout, on_wait or progress
        )


class _Served:
    """Everything one request reads of an index; swapped whole on reload."""

    def __init__(self, index: LoadedIndex, settings: Settings) -> None:
        self.index = index
        # loading the index has just checked corpus/raw against the index's corpus hash
        self.documents = Documents(
            settings.corpus_dir / "raw", index.catalog, lambda: read_curated(settings.corpus_dir).junk
        )
        self.retrieval = Retrieval(
            index.catalog, index.retrievers, settings.fusion_weights(), settings.fusion, settings.rrf_k
        )
        self.judge = Judge(index.confidence, index.references, settings.answer_threshold)
        # the cosine thresholds of ask and diagnose depend on which query encoder the index serves
        self.encoder_kind = "adapted" if index.manifest.query_model else "base"

    @property
    def catalog(self) -> Catalog:
        return self.index.catalog


class KnowledgeBase:
    def __init__(
        self, settings: Settings, index: LoadedIndex, embedder: Embedder, query_log: QueryLog | None = None
    ) -> None:
        self.settings = settings
        # every search, ask and diagnose is recorded here, from whichever edge it came (None: not recorded)
        self.query_log = query_log
        # the alias table is part of the corpus, so an index is never served with another one
        self.encoder = QueryEncoder(
            embedder,
            settings.query_cache_size,
            settings.encode_batch_wait_ms,
            rewriters=[load_aliases(settings.corpus_dir)],
            max_clauses=settings.max_clauses,
        )
        self._served = _Served(index, settings)

    @classmethod
    def load(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        query_log: QueryLog | None = None,
        stale_ok: bool = False,
    ) -> KnowledgeBase:
        index = load_index(settings.index_dir, settings.corpus_dir, settings.model, stale_ok)
        return cls(settings, index, embedder or make_query_embedder(settings, index), query_log)

    @property
    def learning(self) -> Learning:
        """Feedback, the curators' views of the query log and their actions on it."""
        return Learning(self.query_log, self._served.catalog, self.encoder.embedder, self.settings.corpus_dir)

    @property
    def index(self) -> LoadedIndex:
        return self._served.index

    def reload(self) -> Manifest:
        """Load the current index from disk and swap it in; in-flight requests finish on the old one.

        The query encoder stays: the new index has the same model (loading checks) and its document
        vectors come from torch, whichever encoder serves queries."""
        index = load_index(self.settings.index_dir, self.settings.corpus_dir, self.settings.model)
        # one assignment swaps everything a request reads; each request takes `self._served` once
        self._served = _Served(index, self.settings)
        return index.manifest

    def warm_up(self) -> None:
        """Load the model, the tokenizer dictionary and OpenCC before the first request, not during it."""
        query_log, self.query_log = self.query_log, None  # nobody asked these: not recorded
        try:
            self.ask(AskRequest(question="社群定位分哪几步?"))
            self.diagnose(DiagnoseRequest(situation="群里全是广告,没人说话"))
        finally:
            self.query_log = query_log

    # -- queries --------------------------------------------------------------------------------------

    def search(
        self, req: SearchRequest, variant: Variant = "fused", ctx: CallContext | None = None
    ) -> SearchResponse:
        started = time.perf_counter()
        served = self._served
        types = served.catalog.check_names(req.types, "types")
        docs = served.catalog.check_names(req.docs, "docs")
        query = self.encoder.query(req.query)
        resp = _search(served, query, served.catalog.mask(types, docs), req.k, variant, req.min_relevance)
        return self._record("search", ctx, served, query, resp, started)

    def search_batch(
        self, req: SearchBatchRequest, variant: Variant = "fused", ctx: CallContext | None = None
    ) -> SearchBatchResponse:
        """Each query ranked as by `search`, all of them encoded in one call; each result is an event
        of its own, with a request id of its own."""
        started = time.perf_counter()
        served = self._served
        types = served.catalog.check_names(req.types, "types")
        docs = served.catalog.check_names(req.docs, "docs")
        mask = served.catalog.mask(types, docs)
        queries = self.encoder.queries(req.queries)
        ctx = ctx or CallContext("cli")
        results = [
            self._record(
                "search",
                CallContext(ctx.surface, ctx.key_name, new_request_id()),
                served,
                q,
                _search(served, q, mask, req.k, variant, req.min_relevance),
                started,
            )
            for q in queries
        ]
        return SearchBatchResponse(results=results)

    def ask(self, req: AskRequest, variant: Variant = "fused", ctx: CallContext | None = None) -> AskResponse:
        started = time.perf_counter()
        # a single clause is the question itself: clauses are encoded only when there are several
        query = self.encoder.query(req.question, min_clauses=2)
        served = self._served
        resp = ask_policy.ask(
            req, query, served.retrieval, self.encoder.encode, served.judge, variant, served.encoder_kind
        )
        return self._record("ask", ctx, served, query, resp, started)

    def diagnose(
        self, req: DiagnoseRequest, variant: Variant = "fused", ctx: CallContext | None = None
    ) -> DiagnoseResponse:
        started = time.perf_counter()
        query = self.encoder.query(req.situation, min_clauses=1)
        served = self._served
        resp = diagnose_policy.diagnose(
            req, query, served.retrieval, served.judge, variant, served.encoder_kind
        )
        return self._record("diagnose", ctx, served, query, resp, started)

    def _record(
        self,
        operation: str,
        ctx: CallContext | None,
        served: _Served,
        query: Query,
        resp: Answer,
        started: float,
    ) -> Answer:
        """The one place a call is recorded, whichever edge it came from: the response gets its request id
        and the event is queued for the background writer (never written on the request path)."""
        ctx = ctx or CallContext("cli")  # a call from Python in this process
        resp.request_id = ctx.request_id
        if self.query_log is None:
            return resp
        m = served.index.manifest
        self.query_log.record(
            EventRecord(
                request_id=ctx.request_id,
                at=datetime.now(UTC),
                operation=operation,
                surface=ctx.surface,
                key_name=ctx.key_name,
                text=query.text,
                normalized=query.normalized,
                answered=resp.answered,
                coverage=getattr(resp, "coverage", None),
                confidence=resp.confidence,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                index_corpus=m.corpus_sha256,
                index_built_at=m.built_at,
                hits=tuple(HitRecord(h.id, h.rank, h.score, h.relevance) for h in resp.hits),
            )
        )
        return resp

    def feedback(self, req: FeedbackRequest, ctx: CallContext | None = None) -> FeedbackReceipt:
        """Rate an earlier response by its request id (see `learning` for the curators' side)."""
        return self.learning.feedback(req, ctx)

    # -- browsing -------------------------------------------------------------------------------------

    def get(self, principle_id: str) -> Principle:
        return self._served.catalog.get(principle_id)

    def list_principles(self, req: PrincipleQuery) -> PrincipleList:
        catalog = self._served.catalog
        types = catalog.check_names([req.type] if req.type else None, "type")
        docs = catalog.check_names([req.doc] if req.doc else None, "doc")
        items = catalog.filter(types, docs, catalog.check_group(req.group))
        end = req.offset + req.limit
        return PrincipleList(
            total=len(items),
            limit=req.limit,
            offset=req.offset,
            next_offset=end if end < len(items) else None,
            principles=items[req.offset : end],
        )

    def documents(self) -> DocumentList:
        return self._served.documents.list()

    def document(self, doc: str, req: DocumentQuery | None = None) -> Document:
        """A raw article by short id or file name, whole or a bounded range of it."""
        return self._served.documents.get(doc, req)

    def article_view(self, doc: str) -> ArticleView:
        """A raw article cut into segments for reading, each with the principles citing it."""
        return self._served.documents.view(doc)

    def groups(self) -> GroupList:
        return GroupList(groups=self._served.catalog.groups)

    def types(self) -> TypeList:
        return TypeList(types=self._served.catalog.type_infos())

    def health(self) -> Health:
        m = self.index.manifest
        return Health(status="ok", principles=m.principles, model=m.model, index=m.summary())


def _search(
    served: _Served, query: Query, mask: BoolArray, k: int, variant: Variant, min_relevance: float = 0.0
) -> SearchResponse:
    """One query's search: the fused ranking, and whether anything in it is relevant at all."""
    signals = served.retrieval.signals(query)
    ranked = served.retrieval.rank(signals, mask, k, variant)
    conf = served.judge.probability("search", query, served.retrieval, signals)
    hits: list[Hit] = []
    for r in ranked:
        rel = relevance(conf, r.score, ranked[0].score)
        if rel >= min_relevance:
            n = len(hits) + 1
            hits.append(to_hit(r, n, "lead" if n == 1 else "context", relevance=rel))
    return SearchResponse(query=query.text, answered=served.judge.covers(conf), confidence=conf, hits=hits)


def relevance(confidence: float, score: float, top: float) -> float:
    """A hit's relevance in 0..1, comparable across requests: the calibrated probability that the
    articles cover the query (the confidence model), shared out by the fused score relative to the top
    hit (fused scores are min-max scaled per request, so only their ratio carries over)."""
    share = 1.0 if top <= 0 else min(max(score / top, 0.0), 1.0)
    return round(confidence * share, 6)
