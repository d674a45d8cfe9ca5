"""Dependencies of the routes: the KnowledgeBase and the metrics, both living on app.state, and the
call's context (request id, the caller's key name) for the core to record."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.api.access import key_name
from service.kb import KnowledgeBase
from service.metrics import Metrics
from service.store.context import CallContext, new_request_id

__all__ = ["CallDep", "KBDep", "MetricsDep", "get_call", "get_kb", "get_metrics"]


def get_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_call(request: Request) -> CallContext:
    """Who called, as the access log (request id) and the key check (key name) found it."""
    rid = request.scope.get("state", {}).get("request_id") or new_request_id()
    return CallContext("http", key_name(request.scope), rid)


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CallDep = Annotated[CallContext, Depends(get_call)]
