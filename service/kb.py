"""KnowledgeBase: the facade the HTTP API, the CLI and the chat-assistant tools all call.

It owns the index in use and the query encoder, builds each request's `Query` once, and hands it to
the policy of the operation (service/search.py, ask.py, diagnose.py) with the served index
(service/served.py). Building is service/build/'s.
It satisfies `service.operations.Operations`, like the HTTP client.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import TypeVar

from service import ask as ask_policy
from service import diagnose as diagnose_policy
from service import search as search_policy
from service.aliases import load_aliases
from service.embedder import Embedder
from service.index import LoadedIndex, Manifest, load_index
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
from service.retrieval import Variant
from service.served import Served
from service.settings import Settings
from service.store.context import CallContext, new_request_id
from service.store.events import EventRecord, HitRecord
from service.store.learning import Learning
from service.store.models import FeedbackReceipt, FeedbackRequest
from service.store.querylog import QueryLog
from service.view_models import ArticleView

__all__ = ["KnowledgeBase"]

log = logging.getLogger("kb")

Answer = TypeVar("Answer", SearchResponse, AskResponse, DiagnoseResponse)


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
        self._served = Served(index, settings, self.encoder.encode)
        self.loaded_at = _now()

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
        self._served = Served(index, self.settings, self.encoder.encode)
        self.loaded_at = _now()
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
        self,
        req: SearchRequest,
        variant: Variant = "fused",
        within: Collection[str] | None = None,
        ctx: CallContext | None = None,
    ) -> SearchResponse:
        """`within`: only these principle ids (a caller's own filter, e.g. Dify's metadata conditions,
        beside `types` and `docs`); relevance is then shared out over that ranking, as with `types`."""
        started = time.perf_counter()
        served = self._served
        query = self.encoder.query(req.query)
        resp = search_policy.search(req, query, served, variant, within)
        return self._record("search", ctx, served, query, resp, started)

    def search_batch(
        self, req: SearchBatchRequest, variant: Variant = "fused", ctx: CallContext | None = None
    ) -> SearchBatchResponse:
        """Each query ranked as by `search`, all of them encoded in one call; each result is an event
        of its own, with a request id of its own."""
        started = time.perf_counter()
        served = self._served
        queries = self.encoder.queries(req.queries)
        ctx = ctx or CallContext("cli")
        results = [
            self._record(
                "search",
                CallContext(ctx.surface, ctx.key_name, new_request_id()),
                served,
                q,
                search_policy.search(req.one(q.text), q, served, variant),
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
        resp = ask_policy.ask(req, query, served, variant)
        return self._record("ask", ctx, served, query, resp, started)

    def diagnose(
        self, req: DiagnoseRequest, variant: Variant = "fused", ctx: CallContext | None = None
    ) -> DiagnoseResponse:
        started = time.perf_counter()
        query = self.encoder.query(req.situation, min_clauses=1)
        served = self._served
        resp = diagnose_policy.diagnose(req, query, served, variant)
        return self._record("diagnose", ctx, served, query, resp, started)

    def _record(
        self,
        operation: str,
        ctx: CallContext | None,
        served: Served,
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
        return Health(
            status="ok",
            principles=m.principles,
            model=m.model,
            index=m.summary(),
            worker=os.getpid(),
            loaded_at=self.loaded_at,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
