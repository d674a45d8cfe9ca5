"""search, ask, diagnose: each route is one call to the KnowledgeBase with its request model."""

from __future__ import annotations

from service.api.access import router as make_router
from service.api.deps import CallDep, KBDep
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    SearchBatchRequest,
    SearchBatchResponse,
    SearchRequest,
    SearchResponse,
)

__all__ = ["router"]

router = make_router(costly=True, tags=["query"])


@router.post("/search", response_model=SearchResponse)
def search(req: SearchRequest, kb: KBDep, call: CallDep) -> SearchResponse:
    """Hybrid (dense + BM25) search over principles; filter by `types` and `docs`."""
    return kb.search(req, ctx=call)


@router.post("/search/batch", response_model=SearchBatchResponse)
def search_batch(req: SearchBatchRequest, kb: KBDep, call: CallDep) -> SearchBatchResponse:
    """Up to 32 queries with the same `k` and filters, encoded together; one result per query, each
    with the hits `/search` would return."""
    return kb.search_batch(req, ctx=call)


@router.post("/ask", response_model=AskResponse)
def ask(req: AskRequest, kb: KBDep, call: CallDep) -> AskResponse:
    """A cited answer in Chinese, or `answered: false` when the knowledge base has nothing on it."""
    return kb.ask(req, ctx=call)


@router.post("/diagnose", response_model=DiagnoseResponse)
def diagnose(req: DiagnoseRequest, kb: KBDep, call: CallDep) -> DiagnoseResponse:
    """Pitfalls matching a described situation, each with the words that matched and what to do."""
    return kb.diagnose(req, ctx=call)
