"""HTTP edge: the app factory. Routes live in routers per concern (service/api/routers/), who may call
them is route metadata (service/api/access.py), errors leave in one shape (service/api/errors.py). No
ranking or answer logic lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from service import __version__
from service.api.access import Access, GuardedRoute, guard_asgi
from service.api.admission import Admission
from service.api.caching import CachedRoute, cache_control
from service.api.deps import KBDep, get_kb
from service.api.errors import ERROR_RESPONSES, install_error_handlers
from service.api.routers import admin, assistants, browse, curation, documents, learning, meta, query, web
from service.kb import KnowledgeBase
from service.metrics import Metrics
from service.middleware import AccessLog, BodyLimit, HeadAsGet, StreamLimit
from service.settings import Settings, get_settings
from service.store.metrics import DroppedEvents
from service.store.querylog import open_query_log

__all__ = ["KBDep", "create_app", "get_kb"]


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    settings = settings or get_settings()

    from service.mcp_server import create_mcp

    mcp = create_mcp(lambda: app.state.kb)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=settings.host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # a KB made here opens (and migrates) the query log itself, and closes it at shutdown
        query_log = None if kb else open_query_log(settings)
        app.state.kb = kb or KnowledgeBase.load(settings, query_log=query_log)
        app.state.metrics.set_index(app.state.kb.index.manifest)
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            if query_log is not None:
                query_log.close()

    app = FastAPI(
        title="社群运营知识库 community-ops knowledge base",
        version=__version__,
        description="Curated, cited principles on running WeChat communities: search, ask, diagnose.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # served by the meta router instead, so that they are guarded like every route
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.router.route_class = GuardedRoute  # a route added straight to the app is guarded too
    app.state.metrics = Metrics()
    app.state.metrics.registry.register(
        DroppedEvents(lambda: getattr(getattr(app.state, "kb", None), "query_log", None))
    )
    app.state.api_keys = settings.api_keys
    app.state.admission = Admission(
        settings.max_inflight,
        settings.max_queued,
        settings.retry_after_seconds,
        settings.queue_wait_ms / 1000,
    )
    app.state.cache_control = cache_control(settings.cache_max_age, private=bool(settings.api_keys))
    for router in _routers():
        app.include_router(router)
    # MCP over streamable HTTP, served by the same process and the same KnowledgeBase; not a FastAPI
    # route, so guarded here; its calls are admitted like the costly routes, its event streams end after
    # KB_STREAM_SECONDS, and BodyLimit holds its bodies to KB_MAX_BODY_BYTES like everyone's
    for route in mcp_app.routes:
        inner = StreamLimit(route.app, settings.stream_seconds)  # type: ignore[attr-defined]
        route.app = guard_asgi(inner, settings.api_keys, admission=app.state.admission)  # type: ignore[attr-defined]
    app.router.routes.extend(mcp_app.routes)
    # Swagger UI's and ReDoc's scripts and styles, from the fastapi-offline package: /docs works without
    # internet access. Open like /health: they are public libraries, and a browser fetches them without
    # the key the page itself needs.
    app.mount(meta.ASSETS, meta.assets(), name="docs-assets")
    # the web UI's own scripts and styles, open for the same reason: the data they show needs the key
    app.mount(web.ASSETS, web.assets(), name="web-assets")
    install_error_handlers(app)

    # added innermost first: the access log sees every request, CORS answers preflights before any route
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLog, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, with the filters' accepted values taken from the index being served (the same
    catalog that validates them), so clients and the fuzz run see them."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            openapi_version=app.openapi_version,
        )
        _errors_per_route(schema)
        kb: KnowledgeBase | None = getattr(app.state, "kb", None)
        if kb is not None:
            catalog = kb.index.catalog
            enums = {"type": sorted(catalog.type_names), "doc": [*catalog.doc_ids, *catalog.doc_ids.values()]}
            for param in schema["paths"]["/principles"]["get"].get("parameters", []):
                if param["name"] in enums:
                    param["schema"] = {
                        "anyOf": [{"type": "string", "enum": enums[param["name"]]}, {"type": "null"}]
                    }
            app.openapi_schema = schema
        return schema
    return app.openapi_schema


def _routers() -> tuple[APIRouter, ...]:
    return (
        meta.open_router,
        web.open_router,
        meta.router,
        query.router,
        browse.router,
        documents.router,
        assistants.router,
        admin.router,
        curation.router,
        learning.router,
        learning.admin_router,
    )


def _errors_per_route(schema: dict[str, Any]) -> None:
    """Each operation lists only the error statuses it can return (the app declares them all)."""
    for route in (r for router in _routers() for r in router.routes):
        if not isinstance(route, GuardedRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            op = schema["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            possible = route_errors(route, method)
            op["responses"] = {
                code: r for code, r in op["responses"].items() if not code.isdigit() or int(code) < 400
                or int(code) in possible
            }  # fmt: skip


def route_errors(route: GuardedRoute, method: str) -> set[int]:
    """The error statuses one route can answer: every route 413 (body limit) and 500; 401 unless open,
    403, 409 and 503 when admin; a JSON body 400, 415 and 422; parameters 422, path parameters 404;
    admission 503."""
    # and whatever the route declares itself (a tool call's 404, an article's 409)
    out = {413, 500} | {int(c) for c in route.responses if str(c).isdigit()}
    dependant = route.dependant
    takes_json = route.body_field is not None and method in ("POST", "PATCH")
    if route.access is not Access.OPEN:
        out.add(401)
    if route.access is Access.ADMIN:
        out |= {403, 409, 503}
    if takes_json:
        out |= {400, 415, 422}
    # cached routes refuse unknown query parameters
    if dependant.query_params or dependant.path_params or takes_json or isinstance(route, CachedRoute):
        out.add(422)
    if dependant.path_params:
        out.add(404)
    if route.costly and method == "POST":
        out.add(503)
    return out
