"""Dependencies of the routes: the KnowledgeBase and the metrics, both living on app.state; the address
links to the web UI start with; the call's context (request id, the caller's key name) for the core to
record."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.access import key_name
from service.api.metrics import Metrics
from service.kb import KnowledgeBase
from service.store.context import CallContext, new_request_id

__all__ = [
    "BaseURLDep",
    "CallDep",
    "KBDep",
    "MetricsDep",
    "get_base_url",
    "get_call",
    "get_kb",
    "get_metrics",
]


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


def get_call(request: Request) -> CallContext:
    """Who called, as the access log (request id) and the key check (key name) found it."""
    rid = request.scope.get("state", {}).get("request_id") or new_request_id()
    return CallContext("http", key_name(request.scope), rid)


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
BaseURLDep = Annotated[str, Depends(get_base_url)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CallDep = Annotated[CallContext, Depends(get_call)]
