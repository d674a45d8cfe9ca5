"""Operations on the running server; always behind a key, closed when no keys are configured."""

from __future__ import annotations

from fastapi import Request

from service.api.access import Access
from service.api.access import router as make_router
from service.models import IndexSummary

__all__ = ["router"]

router = make_router(Access.ADMIN, prefix="/admin", tags=["admin"])


@router.post("/reload", response_model=IndexSummary)
def reload(request: Request) -> IndexSummary:
    """Swap in the index on disk (after `kb build`); on failure the current index keeps serving. With
    several workers, the one that answers has reloaded and the others follow within a second."""
    from service.api import reload_everywhere

    return reload_everywhere(request.app).summary()
