"""Operations on the running server; always behind a key, closed when no keys are configured."""

from __future__ import annotations

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep, MetricsDep
from service.models import IndexSummary

__all__ = ["router"]

router = make_router(Access.ADMIN, prefix="/admin", tags=["admin"])


@router.post("/reload", response_model=IndexSummary)
def reload(kb: KBDep, metrics: MetricsDep) -> IndexSummary:
    """Swap in the index on disk (after `kb build`); on failure the current index keeps serving."""
    manifest = kb.reload()
    metrics.set_index(manifest)
    return manifest.summary()
