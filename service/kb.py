"""KnowledgeBase: the facade the HTTP API, the CLI and the chat-assistant tools all call.

It owns the index in use and the query encoder, builds each request's `Query` once, and hands it to
the policy of the operation (service/ask.py, service/diagnose.py; search is the fused ranking itself).
It satisfies `service.operations.Operations`, like the HTTP client.
"""

from __future__ import annotations

import functools
import logging

from service import ask as ask_policy
from service import diagnose as diagnose_policy
from service.catalog import Catalog
from service.corpus import load_corpus
from service.documents import Documents
from service.embedder import Embedder, SentenceTransformerEmbedder
from service.hits import to_hit
from service.index import LoadedIndex, Manifest, build_index, load_index
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Document,
    DocumentList,
    DocumentQuery,
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
from service.onnx_export import export_or_explain
from service.query import QueryEncoder, make_query_embedder
from service.retrieval import Retrieval, Variant
from service.settings import Settings

__all__ = ["KnowledgeBase", "build"]

log = logging.getLogger("kb")


def build(settings: Settings, embedder: Embedder | None = None) -> Manifest:
    """Documents are always encoded by the model itself on torch (fp32): the index is then right for
    either query encoder, and the ONNX export is checked against those vectors before it is kept."""
    corpus = load_corpus(settings.corpus_dir)
    embedder = embedder or SentenceTransformerEmbedder(settings.model)
    export = None
    if isinstance(embedder, SentenceTransformerEmbedder):  # a fake embedder of a test has nothing to export
        export = functools.partial(export_or_explain, embedder)
    return build_index(corpus, embedder, settings.index_dir, export)


class _Served:
    """Everything one request reads of an index; swapped whole on reload."""

    def __init__(self, index: LoadedIndex, settings: Settings) -> None:
        self.index = index
        # loading the index has just checked corpus/raw against the index's corpus hash
        self.documents = Documents(settings.corpus_dir / "raw", index.catalog)
        self.retrieval = Retrieval(
            index.catalog, index.retrievers, settings.fusion_weights(), settings.fusion, settings.rrf_k
        )

    @property
    def catalog(self) -> Catalog:
        return self.index.catalog


class KnowledgeBase:
    def __init__(self, settings: Settings, index: LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        self.encoder = QueryEncoder(embedder, settings.query_cache_size, settings.encode_batch_wait_ms)
        self._served = _Served(index, settings)

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> KnowledgeBase:
        index = load_index(settings.index_dir, settings.corpus_dir, settings.model)
        return cls(settings, index, embedder or make_query_embedder(settings, index.encoder_dir))

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
        self.ask(AskRequest(question="社群定位分哪几步?"))
        self.diagnose(DiagnoseRequest(situation="群里全是广告,没人说话"))

    # -- queries --------------------------------------------------------------------------------------

    def search(self, req: SearchRequest, variant: Variant = "fused") -> SearchResponse:
        served = self._served
        types = served.catalog.check_names(req.types, "types")
        docs = served.catalog.check_names(req.docs, "docs")
        query = self.encoder.query(req.query)
        ranked = served.retrieval.search(query, served.catalog.mask(types, docs), req.k, variant)
        return SearchResponse(query=req.query, hits=[to_hit(r) for r in ranked])

    def search_batch(self, req: SearchBatchRequest, variant: Variant = "fused") -> SearchBatchResponse:
        """Each query ranked as by `search`, all of them encoded in one call."""
        served = self._served
        types = served.catalog.check_names(req.types, "types")
        docs = served.catalog.check_names(req.docs, "docs")
        mask = served.catalog.mask(types, docs)
        results = [
            SearchResponse(
                query=q.text, hits=[to_hit(r) for r in served.retrieval.search(q, mask, req.k, variant)]
            )
            for q in self.encoder.queries(req.queries)
        ]
        return SearchBatchResponse(results=results)

    def ask(self, req: AskRequest, variant: Variant = "fused") -> AskResponse:
        # a single clause is the question itself: clauses are encoded only when there are several
        query = self.encoder.query(req.question, min_clauses=2)
        return ask_policy.ask(req, query, self._served.retrieval, self.encoder.encode, self.settings, variant)

    def diagnose(self, req: DiagnoseRequest, variant: Variant = "fused") -> DiagnoseResponse:
        query = self.encoder.query(req.situation, min_clauses=1)
        return diagnose_policy.diagnose(req, query, self._served.retrieval, variant)

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

    def types(self) -> TypeList:
        return TypeList(types=self._served.catalog.type_infos())

    def health(self) -> Health:
        m = self.index.manifest
        return Health(status="ok", principles=m.principles, model=m.model, index=m.summary())
