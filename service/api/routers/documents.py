"""The raw articles: a listing, and each article's text or a bounded range of it (raw and normalised),
so a client can show the context of any citation. Cacheable like the browsing routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from service.api.caching import cached_router
from service.api.deps import KBDep
from service.models import MAX_RANGE_CHARS, Document, DocumentList, DocumentQuery

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
