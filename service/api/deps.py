"""Dependencies of the routes: the KnowledgeBase and the metrics, both living on app.state; the address
links to the web UI start with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.metrics import Metrics
from service.kb import KnowledgeBase

__all__ = ["BaseURLDep", "KBDep", "MetricsDep", "get_base_url", "get_kb", "get_metrics"]


# async, though they do no I/O: FastAPI runs a plain `def` dependency in the thread pool, and a hop there
# (behind the expensive requests' threads, under their GIL) is what made /health slow under load
async def get_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_base_url(request: Request) -> str:
    """KB_PUBLIC_URL, or the address this request came to (its Host header): where links point."""
    kb: KnowledgeBase = request.app.state.kb
    return (kb.settings.public_url or str(request.base_url)).rstrip("/")


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
BaseURLDep = Annotated[str, Depends(get_base_url)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
