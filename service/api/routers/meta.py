"""Health (open to all: load balancers and the container's HEALTHCHECK), Prometheus metrics, and the
OpenAPI document with its two viewers (behind the key like every other route)."""

from __future__ import annotations

from fastapi import Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep, MetricsDep
from service.models import Health

__all__ = ["open_router", "router"]

open_router = make_router(Access.OPEN, tags=["meta"])
router = make_router(tags=["meta"])


@open_router.get("/health", response_model=Health)
def health(kb: KBDep) -> Health:
    return kb.health()


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus exposition: request counts and latency per route, index size, model."""
    return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} - docs")


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title=f"{request.app.title} - ReDoc")
