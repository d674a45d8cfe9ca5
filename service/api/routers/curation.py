"""Adding articles over HTTP, for internal tools: upload → draft summary, list drafts, review and edit,
accept or remove → a job to poll (its build runs in a child process). Admin routes (always behind a key);
drafts are never served as principles or documents.

No route here waits for the corpus lock: while a build holds it, an upload or an edit is refused at once
with 409 and Retry-After, so waiting curators never hold the threads that every route shares."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep
from service.api.errors import render
from service.api.uploads import UPLOAD_BODY, UnsupportedUpload, read_upload
from service.curation.jobs import Publisher
from service.curation.models import (
    DraftDetail,
    DraftEdit,
    DraftList,
    DraftSummary,
    Job,
)
from service.curation.review import draft_detail, edit_draft
from service.curation.store import Limits, add_article, list_drafts
from service.models import ErrorBody

__all__ = ["router"]

router = make_router(Access.ADMIN, prefix="/admin", tags=["admin"])
_CONFLICT: dict[int | str, dict[str, object]] = {
    409: {
        "model": ErrorBody,
        "description": "a duplicate article, too many drafts, a job for this article already runs, or a "
        "build holds the corpus (then Retry-After says when to ask again)",
    }
}


def _publisher(request: Request) -> Publisher:
    """The app's publisher, made by create_app beside its metrics and admission."""
    pub: Publisher = request.app.state.publisher
    return pub


def _limits(kb: KBDep) -> Limits:
    return Limits.of(kb.settings, lock_wait=0)  # refuse at once rather than hold a shared thread


PublisherDep = Annotated[Publisher, Depends(_publisher)]
LimitsDep = Annotated[Limits, Depends(_limits)]


_UPLOAD_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "a JSON body that does not parse"},
    422: {"model": ErrorBody, "description": "a field or a file that cannot be taken, named"},
    413: {"model": ErrorBody, "description": "a body over KB_MAX_ARTICLE_BYTES as a file or as JSON"},
    415: {"model": ErrorBody, "description": "neither multipart/form-data nor application/json"},
}


@router.post(
    "/articles",
    response_model=DraftSummary,
    status_code=201,
    responses={**_CONFLICT, **_UPLOAD_ERRORS},
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_article(request: Request, kb: KBDep, limits: LimitsDep) -> DraftSummary | Response:
    """Add an article, as a file (multipart/form-data: `file`, optional `title` and `force`; .txt, .md,
    .html/.htm with WeChat pages, .docx, .pdf with a text layer) or as JSON text: drafted into
    corpus/drafts for review with its extracted text and the original, apart from the published corpus
    (never served, never in the index) until accepted. 409 for a duplicate (send `force` for a
    near-duplicate that is a different article); 422 names what is wrong with a file that cannot be
    read; 413 over KB_MAX_ARTICLE_BYTES."""
    try:
        upload = await read_upload(request)
    except UnsupportedUpload:
        message = "send the article as multipart/form-data (a file field named 'file') or as application/json"
        return render("unsupported_media_type", message)
    return await run_in_threadpool(
        add_article,
        kb.settings.corpus_dir,
        upload.data,
        upload.filename,
        upload.title,
        upload.force,
        limits=limits,
    )


@router.delete("/articles/{article}", response_model=Job, status_code=202, responses=_CONFLICT)
def remove(article: str, publisher: PublisherDep) -> Job:
    """Remove an article (published or a draft) in the background: its files, its principles' phrasings,
    the links other principles make to them and the labelled requests naming it (listed in the job's
    `removed`), then rebuild and reload. Poll GET /admin/jobs/{id}."""
    return publisher.start(article, "remove")


@router.get("/drafts", response_model=DraftList)
def drafts(kb: KBDep) -> DraftList:
    """Drafts waiting for review (status pending, or publishing while an accept job runs), with how many
    principles still carry `generated:`. Read from each draft's summary, not by parsing the drafts."""
    return list_drafts(kb.settings.corpus_dir)


@router.get("/drafts/{article}", response_model=DraftDetail)
def draft(article: str, kb: KBDep) -> DraftDetail:
    """One draft for review: each principle with its span resolved in the article, the fields the
    machine wrote and not yet checked, how sure it was; the article cut at every span."""
    return draft_detail(kb.settings.corpus_dir, article)


@router.patch("/drafts/{article}/principles/{principle_id}", response_model=DraftDetail, responses=_CONFLICT)
def edit(article: str, principle_id: str, body: DraftEdit, kb: KBDep, limits: LimitsDep) -> DraftDetail:
    """Change a draft principle's type, title, summary or source (quotes `from`/`to`, or offsets
    `start`/`end`); other fields and other edits are kept. The draft is checked as `kb accept` would
    check it: a change that would fail is refused with 422 and nothing is written."""
    return edit_draft(kb.settings.corpus_dir, article, principle_id, body, limits)


@router.post("/drafts/{article}/accept", response_model=Job, status_code=202, responses=_CONFLICT)
def accept(article: str, publisher: PublisherDep) -> Job:
    """Publish a draft, rebuild the index and reload it, in the background: poll GET /admin/jobs/{id}.
    409 when a job for this draft runs already."""
    return publisher.start(article, "accept")


@router.get("/jobs/{job_id}", response_model=Job)
def job(job_id: str, publisher: PublisherDep) -> Job:
    """A publish job: queued, running (with its step), done (with the new index), failed (nothing was
    published) or interrupted (its process died; the corpus was put back: retry it)."""
    return publisher.get(job_id)


@router.post("/jobs/{job_id}/retry", response_model=Job, status_code=202, responses=_CONFLICT)
def retry(job_id: str, publisher: PublisherDep) -> Job:
    """Start a failed or interrupted job again, as a new job (`retry_of` names this one)."""
    return publisher.retry(job_id)
