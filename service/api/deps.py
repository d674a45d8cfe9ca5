"""Dependencies of the routes: the KnowledgeBase and the metrics, both living on app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.metrics import Metrics
from service.kb import KnowledgeBase

__all__ = ["KBDep", "MetricsDep", "get_kb", "get_metrics"]


# async, though they do no I/O: FastAPI runs a plain `def` dependency in the thread pool, and a hop there
# (behind the expensive requests' threads, under their GIL) is what made /health slow under load
async def get_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
