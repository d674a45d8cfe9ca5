"""Adding articles over HTTP, for internal tools: upload → draft summary, list drafts, accept → build and
reload as a job to poll. Admin routes (always behind a key); drafts are never served as principles."""

from __future__ import annotations

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep
from service.api.errors import render
from service.api.uploads import UPLOAD_BODY, UnsupportedUpload, read_upload
from service.draft_models import AcceptJob, DraftList, DraftSummary
from service.draft_review import draft_detail, edit_draft
from service.drafts import MAX_ARTICLE_BYTES, add_article, list_drafts
from service.ingest.formats import file_limit
from service.models import ErrorBody
from service.publish import Publisher
from service.view_models import DraftDetail, DraftEdit

__all__ = ["LARGER_BODIES", "router"]

router = make_router(Access.ADMIN, prefix="/admin", tags=["admin"])
_CONFLICT: dict[int | str, dict[str, object]] = {
    409: {"model": ErrorBody, "description": "a duplicate article, or another build or write holds the lock"}
}
# the upload's body: the largest file accepted, and room for the multipart framing and the other fields
LARGER_BODIES = {"/admin/articles": file_limit(MAX_ARTICLE_BYTES) + 64 * 1024}
_UPLOAD_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "a body that is not valid JSON or multipart"},
    413: {"model": ErrorBody, "description": f"a body over {LARGER_BODIES['/admin/articles']} bytes"},
    415: {"model": ErrorBody, "description": "neither multipart/form-data nor application/json"},
    422: {
        "model": ErrorBody,
        "description": "not an article the knowledge base can read: the message says why",
    },
}


def _publisher(request: Request, kb: KBDep) -> Publisher:
    pub: Publisher | None = getattr(request.app.state, "publisher", None)
    if pub is None or pub.kb is not kb:
        pub = request.app.state.publisher = Publisher(kb)
    return pub


@router.post(
    "/articles",
    response_model=DraftSummary,
    status_code=201,
    responses={**_CONFLICT, **_UPLOAD_ERRORS},
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_article(request: Request, kb: KBDep) -> DraftSummary | Response:
    """Add an article, as a file (multipart/form-data: `file`, optional `title` and `force`; .txt, .md,
    .html/.htm with WeChat pages, .docx, .pdf with a text layer) or as JSON text: its extracted text goes
    to corpus/raw, the original beside its draft in corpus/drafts, drafted for review. 409 for a
    duplicate (send `force` for a near-duplicate that is a different article); 422 names what is wrong
    with a file that cannot be read."""
    try:
        upload = await read_upload(request)
    except UnsupportedUpload:
        message = "send the article as multipart/form-data (a file field named 'file') or as application/json"
        return render("unsupported_media_type", message)
    return await run_in_threadpool(
        add_article, kb.settings.corpus_dir, upload.data, upload.filename, upload.title, upload.force
    )


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
