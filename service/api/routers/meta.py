"""Health (open to all: load balancers and the container's HEALTHCHECK), Prometheus metrics, and the
OpenAPI document with its two viewers (behind the key like every other route)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from service.api.access import Access
from service.api.access import router as make_router
from service.api.deps import KBDep, MetricsDep
from service.api.security import inline_script_csp
from service.models import Health

__all__ = ["ASSETS", "assets", "open_router", "router"]

# where the docs pages' scripts, styles and icon are served from (the app mounts `assets()` there)
ASSETS = "/docs-assets"


def assets() -> StaticFiles:
    """The files of the fastapi-offline package: Swagger UI and ReDoc, kept up to date on PyPI."""
    return StaticFiles(directory=Path(str(files("fastapi_offline") / "static")))


open_router = make_router(Access.OPEN, tags=["meta"])
router = make_router(tags=["meta"])


@open_router.get("/health", response_model=Health)
async def health(kb: KBDep) -> Health:
    """Whether this worker serves, and which index; `worker` and `loaded_at` tell the workers apart.
    Answered on the event loop, never in the thread pool that the expensive requests fill: a load
    balancer's check gets its answer under load."""
    return kb.health()


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(metrics: MetricsDep) -> PlainTextResponse:
    """Prometheus exposition: request counts and latency per route, index size, model."""
    return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def _own_csp(page: HTMLResponse) -> HTMLResponse:
    """The page with the policy its inline start-up script needs (service/api/security.py)."""
    page.headers["content-security-policy"] = inline_script_csp(bytes(page.body).decode())
    return page


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return _own_csp(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{request.app.title} - docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
    )


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    return _own_csp(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
    )
