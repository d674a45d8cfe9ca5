"""Adding articles over HTTP, for internal tools: upload → draft summary, list drafts, accept → build and
reload as a job to poll. Admin routes (always behind a key); drafts are never served as principles."""

from __future__ import annotations

from fastapi import Request

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep
from service.curation.jobs import Publisher
from service.curation.models import AcceptJob, ArticleUpload, DraftDetail, DraftEdit, DraftList, DraftSummary
from service.curation.review import draft_detail, edit_draft
from service.curation.store import add_article, list_drafts
from service.errors import InputError
from service.models import ErrorBody

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


@router.get("/drafts/{article}", response_model=DraftDetail)
def draft(article: str, kb: KBDep) -> DraftDetail:
    """One draft for review: each principle with its span resolved in the article, the fields the
    machine wrote and not yet checked, how sure it was; the article cut at every span."""
    return draft_detail(kb.settings.corpus_dir, article)


@router.patch("/drafts/{article}/principles/{principle_id}", response_model=DraftDetail, responses=_CONFLICT)
def edit(article: str, principle_id: str, body: DraftEdit, kb: KBDep) -> DraftDetail:
    """Change a draft principle's type, title, summary or source (quotes `from`/`to`, or offsets
    `start`/`end`); other fields and other edits are kept. The draft is checked as `kb accept` would
    check it: a change that would fail is refused with 422 and nothing is written."""
    return edit_draft(kb.settings.corpus_dir, article, principle_id, body)


@router.post("/drafts/{article}/accept", response_model=AcceptJob, status_code=202, responses=_CONFLICT)
def accept(article: str, request: Request, kb: KBDep) -> AcceptJob:
    """Publish a draft, rebuild the index and reload it, in the background: poll GET /admin/jobs/{id}."""
    return _publisher(request, kb).start(article)


@router.get("/jobs/{job_id}", response_model=AcceptJob)
def job(job_id: str, request: Request, kb: KBDep) -> AcceptJob:
    """The state of an accept job: queued, running (with its step), done (with the new index) or failed."""
    return _publisher(request, kb).get(job_id)
