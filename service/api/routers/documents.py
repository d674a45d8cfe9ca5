"""The raw articles: a listing, and each article's text or a bounded range of it (raw and normalised),
so a client can show the context of any citation. Cacheable like the browsing routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from service.api.caching import cached_router
from service.api.deps import KBDep
from service.models import MAX_RANGE_CHARS, Document, DocumentList, DocumentQuery
from service.view_models import ArticleView

__all__ = ["router"]

router = cached_router(prefix="/documents", tags=["documents"])


@router.get("", response_model=DocumentList)
def documents(kb: KBDep) -> DocumentList:
    """Every article: short id, file name, title, length in code points, sha256, principle count."""
    return kb.documents()


@router.get(
    "/{doc}",
    response_model=Document,
    description="One article by short id (`000`) or file name. Without `start`/`end`, its whole raw text; "
    f"with them, that range (code-point offsets, as in citations; at most {MAX_RANGE_CHARS} characters), "
    "raw and in the index's normal form.",
)
def document(doc: str, kb: KBDep, req: Annotated[DocumentQuery, Query()]) -> Document:
    return kb.document(doc, req)


@router.get("/{doc}/view", response_model=ArticleView)
def article_view(doc: str, kb: KBDep) -> ArticleView:
    """One article by short id or file name, cut into segments for reading: at every line break and
    every edge of a cited or junk span. Each segment has its raw and readable text, the principles whose
    span covers it and whether it is junk: enough to draw the clean or raw text with citations
    highlighted, without computing an offset."""
    return kb.article_view(doc)
