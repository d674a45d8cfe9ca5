"""Dify's External Knowledge API: register `{server}/dify` as the endpoint in Dify, which then calls
`POST /dify/retrieval`. Errors leave in Dify's shape (service/api/dialects.py); what is searched and
what each record says is decided in service/platforms/dify.py."""

from __future__ import annotations

from service.api.access import router as make_router
from service.api.deps import BaseURLDep, CallDep, KBDep
from service.api.dialects import DIFY
from service.platforms import dify as external_knowledge
from service.platforms.models import DifyError, DifyRetrievalRequest, DifyRetrievalResponse

__all__ = ["router"]

# costly: each call is a search, admitted like /search
router = make_router(costly=True, dialect=DIFY, prefix="/dify", tags=["platforms"])


@router.post(
    "/retrieval",
    response_model=DifyRetrievalResponse,
    response_model_exclude_none=True,
    responses={404: {"model": DifyError, "description": "2001: no knowledge with this knowledge_id"}},
)
def retrieval(req: DifyRetrievalRequest, kb: KBDep, base: BaseURLDep, call: CallDep) -> DifyRetrievalResponse:
    """Dify's External Knowledge API. `knowledge_id`: `all`, a principle type (`pitfall`) or an article
    (`004`); records are /search's hits (score = relevance, so `score_threshold` is min_relevance),
    filtered by `metadata_condition` on type, doc and group (other names are ignored). Errors are
    `{"error_code", "error_msg"}`: 1001 malformed Authorization header and 1002 wrong key (403), 2001
    unknown knowledge_id (404), otherwise the HTTP status."""
    return DifyRetrievalResponse(records=external_knowledge.retrieve(kb, req, base, call))
