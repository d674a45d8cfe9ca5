"""Adding articles over HTTP, for internal tools: upload → draft summary, list drafts, accept → build and
reload as a job to poll. Admin routes (always behind a key); drafts are never served as principles."""

from __future__ import annotations

from fastapi import Request

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep
from service.draft_models import AcceptJob, ArticleUpload, DraftList, DraftSummary
from service.drafts import add_article, list_drafts
from service.errors import InputError
from service.models import ErrorBody
from service.publish import Publisher

__all__ = ["router"]

router = make_router(Access.ADMIN, prefix="/admin", tags=["admin"])
_CONFLICT: dict[int | str, dict[str, object]] = {
    409: {"model": ErrorBody, "description": "a duplicate article, or another build or write holds the lock"}
}


def _publisher(request: Request, kb: KBDep) -> Publisher:
    pub: Publisher | None = getattr(request.app.state, "publisher", None)
    if pub is None or pub.kb is not kb:
        pub = request.app.state.publisher = Publisher(kb)
    return pub


@router.post("/articles", response_model=DraftSummary, status_code=201, responses=_CONFLICT)
def upload_article(body: ArticleUpload, kb: KBDep) -> DraftSummary:
    """Add an article: stored byte-identical as UTF-8, drafted into corpus/drafts for review. 409 for a
    duplicate (send `force` for a near-duplicate that is a different article)."""
    try:
        data = body.text.encode("utf-8")
    except UnicodeEncodeError as exc:  # JSON can carry a lone surrogate, which no UTF-8 file holds
        raise InputError(f"text: not valid Unicode text ({exc.reason})") from exc
    return add_article(kb.settings.corpus_dir, data, body.filename, body.title, body.force)


@router.get("/drafts", response_model=DraftList)
def drafts(kb: KBDep) -> DraftList:
    """Drafts waiting for review, with how many principles still carry `generated:`."""
    return list_drafts(kb.settings.corpus_dir)


@router.post("/drafts/{article}/accept", response_model=AcceptJob, status_code=202, responses=_CONFLICT)
def accept(article: str, request: Request, kb: KBDep) -> AcceptJob:
    """Publish a draft, rebuild the index and reload it, in the background: poll GET /admin/jobs/{id}."""
    return _publisher(request, kb).start(article)


@router.get("/jobs/{job_id}", response_model=AcceptJob)
def job(job_id: str, request: Request, kb: KBDep) -> AcceptJob:
    """The state of an accept job: queued, running (with its step), done (with the new index) or failed."""
    return _publisher(request, kb).get(job_id)
