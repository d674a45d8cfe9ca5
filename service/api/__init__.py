"""HTTP edge: the app factory. Routes live in routers per concern (service/api/routers/), who may call
them is route metadata (service/api/access.py), errors leave in one shape (service/api/errors.py). No
ranking or answer logic lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from mcp.server.transport_security import TransportSecuritySettings

from service import __version__
from service.api.access import Access, AdmissionGate, GuardedRoute, costly_paths, guard_asgi
from service.api.admission import Admission, FixedLimit, GradientLimit
from service.api.caching import CachedRoute, cache_control
from service.api.deps import KBDep, get_kb
from service.api.dialects import NATIVE, Dialect, render_by_path
from service.api.errors import ERROR_RESPONSES, install_error_handlers
from service.api.metrics import Metrics
from service.api.middleware import AccessLog, ASGIApp, BodyLimit, HeadAsGet, Receive, Scope, Send, StreamLimit
from service.api.routers import (
    admin,
    assistants,
    browse,
    curation,
    dify,
    documents,
    learning,
    meta,
    openai_compat,
    query,
    web,
)
from service.api.security import install_security
from service.api.workers import ReloadFile, watch_reloads
from service.curation.jobs import Publisher, recover_jobs
from service.index import Manifest
from service.kb import KnowledgeBase
from service.platforms.chat import MODELS
from service.platforms.dify import knowledge_ids
from service.settings import Settings, get_settings
from service.store.metrics import DroppedEvents
from service.store.querylog import open_query_log

__all__ = ["KBDep", "create_app", "get_kb", "make_admission", "reload_everywhere", "reload_here"]

MCP_PATH = "/mcp"


def create_app(
    settings: Settings | None = None, kb: KnowledgeBase | None = None, reloads: ReloadFile | None = None
) -> FastAPI:
    """The app; `reloads` when it is one of several workers (service/api/workers.py): a reload asked
    of any of them reaches this one too."""
    settings = settings or get_settings()

    from service.mcp_server import create_mcp

    mcp = create_mcp(lambda: app.state.kb)
    # the Host header is checked for every route by one middleware (service/api/security.py), /mcp too
    mcp_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        host=settings.host,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if kb is None:  # loading here (not `kb serve`): settle interrupted publish jobs first, as it does
            recover_jobs(settings)
        # a KB made here opens (and migrates) the query log itself, and closes it at shutdown
        query_log = None if kb else open_query_log(settings)
        app.state.kb = kb or KnowledgeBase.load(settings, query_log=query_log)
        app.state.metrics.set_index(app.state.kb.index.manifest)
        # publish jobs: their child processes, their records, and the reload of every worker after them
        if getattr(app.state, "publisher", None) is None:  # a test may have given its own
            app.state.publisher = Publisher(app.state.kb, reload=lambda: reload_everywhere(app))
        try:
            async with mcp.session_manager.run(), AsyncExitStack() as stack:
                if reloads is not None:
                    await stack.enter_async_context(watch_reloads(reloads, lambda: reload_here(app)))
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
    app.state.admission = make_admission(settings)
    app.state.reloads = reloads
    app.state.cache_control = cache_control(settings.cache_max_age, private=bool(settings.api_keys))
    for router in _routers():
        app.include_router(router)
    # MCP over streamable HTTP, served by the same process and the same KnowledgeBase; not a FastAPI
    # route, so guarded here; its calls are admitted like the costly routes (by AdmissionGate), its event
    # streams end after KB_STREAM_SECONDS, and BodyLimit holds its bodies to KB_MAX_BODY_BYTES like everyone's
    for route in mcp_app.routes:
        inner = StreamLimit(route.app, settings.stream_seconds)  # type: ignore[attr-defined]
        route.app = _labelled(guard_asgi(inner, settings.api_keys), route)  # type: ignore[attr-defined]
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
    # a body over the limit is refused before any route matches: the path says whose shape the error takes;
    # the article upload's limit follows the article limit (a file may be larger than its text), for
    # requests that carry a key
    dialects = {
        r.prefix: r.route_class.dialect for r in _routers() if issubclass(r.route_class, GuardedRoute)
    }
    by_path = {prefix: d for prefix, d in dialects.items() if prefix and d is not NATIVE}
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        render=render_by_path(by_path),
        larger={"/admin/articles": settings.upload_body_bytes()},
    )
    if app.state.admission is not None:
        # outside the body limit: a refused request's body is never read
        routes = [r for router in _routers() for r in router.routes]
        paths = costly_paths(routes, {MCP_PATH: (Access.KEY, False)})
        app.add_middleware(
            AdmissionGate,
            admission=app.state.admission,
            paths=paths,
            keys=settings.api_keys,
            metrics=app.state.metrics,
            render=render_by_path(by_path),
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    install_security(app, settings)  # outside CORS and the routes: every response, every Host checked
    app.add_middleware(AccessLog, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _labelled(inner: ASGIApp, route: Any) -> ASGIApp:
    """Tells the access log and the metrics which route this is (FastAPI does it for its own routes):
    MCP calls were counted as `unmatched`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = route
        await inner(scope, receive, send)

    return app


def reload_here(app: FastAPI) -> Manifest:
    """Swap in the index on disk in this process; on failure (KBError) the current one keeps serving."""
    manifest = app.state.kb.reload()
    app.state.metrics.set_index(manifest)
    return manifest  # type: ignore[no-any-return]


def reload_everywhere(app: FastAPI) -> Manifest:
    """Reload this process, then, when it is one of several workers, ask every other one to."""
    reloads: ReloadFile | None = app.state.reloads
    before = reloads.length() if reloads is not None else 0
    manifest = reload_here(app)
    if reloads is not None:
        reloads.announce_after(before)
    return manifest


def make_admission(settings: Settings) -> Admission | None:
    """Admission control as configured: a limit learnt from latency unless KB_MAX_INFLIGHT fixes it;
    None when KB_ADMISSION is false."""
    if not settings.admission:
        return None
    limit = GradientLimit() if settings.max_inflight is None else FixedLimit(settings.max_inflight)
    return Admission(limit, settings.queue_wait_ms / 1000, settings.max_queued, settings.retry_after_seconds)


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
            tags=TAGS,
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
            # the platforms' names: the knowledge_ids this index answers, the models the chat serves
            models = schema["components"]["schemas"]
            models["DifyRetrievalRequest"]["properties"]["knowledge_id"]["enum"] = knowledge_ids(catalog)
            models["ChatCompletionRequest"]["properties"]["model"]["enum"] = list(MODELS)
            app.openapi_schema = schema
        return schema
    return app.openapi_schema


# what the docs page says above a tag's routes (docs/platforms.md has the whole story)
TAGS = [
    {
        "name": "platforms",
        "description": "Other platforms' contracts, with their error shapes (docs/platforms.md). **Dify**: "
        "Knowledge → External Knowledge API → add one with API Endpoint `http://HOST:8000/dify` (Dify "
        "appends `/retrieval`) and API Key one of KB_API_KEYS (anything when none are set: it is then not "
        "checked); then connect a knowledge base with External Knowledge ID `all`, a type (`pitfall`) or an "
        "article (`004`). **OpenAI-compatible front-ends** (Open WebUI: Admin Panel → Settings → Connections "
        "→ OpenAI API): base URL `http://HOST:8000/v1`, the same key, model `community-ops-kb` (ask or "
        "diagnose chosen per message), `community-ops-kb-ask` or `community-ops-kb-diagnose`.",
    }
]


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
        dify.router,
        openai_compat.router,
        learning.router,
        learning.admin_router,
    )


def _errors_per_route(schema: dict[str, Any]) -> None:
    """Each operation lists only the error statuses it can return (the app declares them all), in the
    shape its dialect renders them (service/api/dialects.py)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
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
            if route.dialect is not NATIVE:
                _in_dialect(op, route.dialect, possible, components)


def _in_dialect(op: dict[str, Any], dialect: Dialect, possible: set[int], components: dict[str, Any]) -> None:
    """A dialect route's errors: its statuses (Dify's 403 for a key error, OpenAI's 400 for invalid
    input), each with its error body."""
    model = dialect.model
    defs = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(defs.pop("$defs", {}))
    components[model.__name__] = defs
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    ours = {c: op["responses"].pop(c) for c in list(op["responses"]) if c.isdigit() and int(c) >= 400}
    for status in sorted(s for s in possible if s >= 400):
        final = str(dialect.statuses.get(status, status))
        description = (ours.get(str(status)) or {}).get("description", "error")
        if final in op["responses"]:  # two of our statuses answered as one of theirs
            description = f"{op['responses'][final]['description']}; {description}"
        op["responses"][final] = {"description": description, "content": content}


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
