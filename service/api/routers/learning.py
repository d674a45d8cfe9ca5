"""The query log over HTTP: feedback on a response (any key), and for curators (admin key) the views of
what users asked and missed, the export, and the actions that turn a logged question into corpus data.
Each route is one call to `KnowledgeBase.learning`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import CallDep, KBDep
from service.models import ErrorBody
from service.store.models import (
    ClusterList,
    DislikedList,
    ExportFilter,
    FeedbackReceipt,
    FeedbackRequest,
    GapList,
    GapRecord,
    GapRequest,
    LogFilter,
    LoggedEvent,
    MissFilter,
    PhrasingAdded,
    PhrasingRequest,
    PrincipleHitsList,
    ScopeLabelled,
    ScopeRequest,
)
from service.store.querylog import to_csv, to_jsonl

__all__ = ["admin_router", "router"]

_UNKNOWN = {"model": ErrorBody, "description": "no logged response has this request id"}
_OFF = {"model": ErrorBody, "description": "the query log is off or its database is unavailable"}

router = make_router(tags=["feedback"])
admin_router = make_router(Access.ADMIN, prefix="/admin/log", tags=["query log"])

Filters = Annotated[LogFilter, Query()]


@router.post("/feedback", response_model=FeedbackReceipt, responses={404: _UNKNOWN, 503: _OFF})
def feedback(req: FeedbackRequest, kb: KBDep, call: CallDep) -> FeedbackReceipt:
    """Rate a response by its `request_id` (from its body or X-Request-ID): up or down, with a reason
    and the principles that should have come. Rating the same response again replaces the rating."""
    return kb.learning.feedback(req, call)


@admin_router.get("/misses", response_model=ClusterList)
def misses(kb: KBDep, flt: Annotated[MissFilter, Query()]) -> ClusterList:
    """Questions not answered or answered with low confidence (under `below`), grouped by similarity
    (the served query encoder's embeddings); clusters newest first, each with its count and examples."""
    return kb.learning.misses(flt, flt.below)


@admin_router.get("/disliked", response_model=DislikedList)
def disliked(kb: KBDep, flt: Filters) -> DislikedList:
    """👎 responses by the principle they led with, most disliked first, with what raters wanted."""
    return kb.learning.disliked(flt)


@admin_router.get("/hits", response_model=PrincipleHitsList)
def hits(kb: KBDep, flt: Filters) -> PrincipleHitsList:
    """How often each principle was in a response's top 3, most hit first, with the questions."""
    return kb.learning.principle_hits(flt)


@admin_router.get("/events/{request_id}", response_model=LoggedEvent, responses={404: _UNKNOWN})
def event(request_id: str, kb: KBDep) -> LoggedEvent:
    """One logged response, with its hits and feedback."""
    return kb.learning.event(request_id)


@admin_router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export(kb: KBDep, flt: Annotated[ExportFilter, Query()]) -> Response:
    """The events matching the filters with their feedback, newest first (the filters' `limit` does not
    apply: `max_events` does)."""
    events = kb.learning.events(flt, flt.max_events)
    if flt.format == "csv":
        body, media = to_csv(events), "text/csv"
    else:
        body, media = to_jsonl(events), "application/x-ndjson"
    disposition = f'attachment; filename="kb-log.{flt.format}"'
    return Response(body, media_type=media, headers={"content-disposition": disposition})


@admin_router.post("/phrasings", response_model=PhrasingAdded, responses={404: _UNKNOWN})
def add_phrasing(req: PhrasingRequest, kb: KBDep, call: CallDep) -> PhrasingAdded:
    """Add a logged question as a phrasing of a principle (corpus/phrasings/log.yaml, marked with its
    source and date); served after the next `kb build`."""
    return kb.learning.add_phrasing(req, call)


@admin_router.post("/scope", response_model=ScopeLabelled, responses={404: _UNKNOWN})
def label_scope(req: ScopeRequest, kb: KBDep, call: CallDep) -> ScopeLabelled:
    """Label a logged question in or out of scope for the confidence model (corpus/calibration/log.jsonl);
    used by the next `kb build`."""
    return kb.learning.label_scope(req, call)


@admin_router.post("/gaps", response_model=GapRecord, status_code=201, responses={404: _UNKNOWN})
def add_gap(req: GapRequest, kb: KBDep, call: CallDep) -> GapRecord:
    """Record a logged question as a gap: a topic users ask about that no article covers."""
    return kb.learning.add_gap(req, call)


@admin_router.get("/gaps", response_model=GapList)
def gaps(kb: KBDep) -> GapList:
    """The recorded gaps, newest first."""
    return kb.learning.gaps()
