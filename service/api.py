"""HTTP edge: parse, call the KnowledgeBase, render. No ranking or answer logic lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service import tools
from service.corpus import vocabulary
from service.errors import AuthError, IndexError_, InputError, KBError, NotFoundError
from service.kb import KnowledgeBase
from service.metrics import Metrics
from service.middleware import AccessLog, ApiKeys, BodyLimit
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    ErrorBody,
    Health,
    IndexSummary,
    Principle,
    PrincipleList,
    SearchRequest,
    SearchResponse,
    ToolCallResponse,
    ToolList,
    TypeList,
)
from service.settings import Settings, get_settings

_STATUS = {InputError: 422, NotFoundError: 404, AuthError: 401, IndexError_: 503}
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": desc}
    for code, desc in [
        (400, "body is not valid JSON in UTF-8"),
        (401, "missing or wrong API key (when KB_API_KEYS is set)"),
        (403, "admin endpoints without KB_API_KEYS"),
        (404, "unknown id or path"),
        (413, "request body over KB_MAX_BODY_BYTES"),
        (415, "body is not application/json"),
        (422, "invalid input; the message names the field"),
        (500, "server error"),
        (503, "the index cannot be (re)loaded"),
    ]
}


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(status_code=status, content=body, headers=headers)


def get_kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(x) for x in err.get("loc", ()) if x != "body"]
        field = ".".join(loc) or "body"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)


def _enums(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The accepted values of /principles' filters, published in the schema so that clients (and the fuzz
    run) see them; the KnowledgeBase still checks them against the index it serves."""
    try:
        types, docs = vocabulary(settings.corpus_dir)
    except (KBError, OSError):
        return {}, {}
    return (
        {"json_schema_extra": {"enum": types}} if types else {},
        {"json_schema_extra": {"enum": docs}} if docs else {},
    )


def create_app(settings: Settings | None = None, kb: KnowledgeBase | None = None) -> FastAPI:
    settings = settings or get_settings()

    from service.mcp_server import create_mcp

    mcp = create_mcp(lambda: app.state.kb)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=settings.host)

    metrics = Metrics()
    type_enum, doc_enum = _enums(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.kb = kb or KnowledgeBase.load(settings)
        metrics.set_index(app.state.kb.index.manifest)
        async with mcp.session_manager.run():
            yield

    app = FastAPI(
        title="社群运营知识库 community-ops knowledge base",
        version="0.1.0",
        description="Curated, cited principles on running WeChat communities: search, ask, diagnose.",
        lifespan=lifespan,
        responses=_ERRORS,
    )

    # added innermost first: the access log sees every request, CORS answers preflights before auth
    json_paths = frozenset({"/search", "/ask", "/diagnose", "/tools/call"})
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, json_paths=json_paths)
    app.add_middleware(ApiKeys, keys=settings.api_keys)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLog, metrics=metrics)

    @app.exception_handler(KBError)
    async def _kb_error(request: Request, exc: KBError) -> JSONResponse:
        status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 500)
        return _error(status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_input", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        message = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in message:
            message = "the body is not valid JSON in UTF-8"
        return _error(exc.status_code, code, message, exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal_error", "internal error; the server log has the details")

    @app.get("/health", response_model=Health, tags=["meta"])
    def health(kb: KBDep) -> Health:
        return kb.health()

    @app.post("/search", response_model=SearchResponse, tags=["query"])
    def search(req: SearchRequest, kb: KBDep) -> SearchResponse:
        """Hybrid (dense + BM25) search over principles; filter by `types` and `docs`."""
        return kb.search(req)

    @app.post("/ask", response_model=AskResponse, tags=["query"])
    def ask(req: AskRequest, kb: KBDep) -> AskResponse:
        """A cited answer in Chinese, or `answered: false` when the knowledge base has nothing on it."""
        return kb.ask(req)

    @app.post("/diagnose", response_model=DiagnoseResponse, tags=["query"])
    def diagnose(req: DiagnoseRequest, kb: KBDep) -> DiagnoseResponse:
        """Pitfalls matching a described situation, each with the words that matched and what to do."""
        return kb.diagnose(req)

    @app.get("/principles", response_model=PrincipleList, tags=["browse"])
    def principles(
        kb: KBDep,
        # defaults, not Annotated: the enums are computed here, and annotations are resolved at module level
        type: str | None = Query(None, description="a type name (GET /types)", **type_enum),
        doc: str | None = Query(None, description="a raw file name", **doc_enum),
    ) -> PrincipleList:
        return kb.list_principles(type, doc)

    @app.get("/principles/{principle_id}", response_model=Principle, tags=["browse"])
    def principle(principle_id: str, kb: KBDep) -> Principle:
        return kb.get(principle_id)

    @app.get("/types", response_model=TypeList, tags=["browse"])
    def types(kb: KBDep) -> TypeList:
        return kb.types()

    @app.get("/metrics", tags=["meta"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus exposition: request counts and latency per route, index size, model."""
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.post("/admin/reload", response_model=IndexSummary, tags=["admin"])
    def reload(kb: KBDep) -> IndexSummary:
        """Swap in the index on disk (after `kb build`); on failure the current index keeps serving."""
        manifest = kb.reload()
        metrics.set_index(manifest)
        return manifest.summary()

    @app.get("/tools", response_model=ToolList, tags=["assistants"])
    def list_tools() -> ToolList:
        """The chat-assistant tools as OpenAI function-calling definitions (strict mode)."""
        return ToolList(tools=[tools.openai_schema(t) for t in tools.TOOLS])

    @app.post("/tools/call", response_model=ToolCallResponse, tags=["assistants"])
    def call_tool(req: Annotated[tools.ToolCall, Body()], kb: KBDep) -> ToolCallResponse:
        """Run one tool by name, as an assistant framework would after the model chose it."""
        result = tools.run_call(kb, req)
        return ToolCallResponse(name=req.name, result=result.model_dump(mode="json"))

    # MCP over streamable HTTP, served by the same process and the same KnowledgeBase
    app.router.routes.extend(mcp_app.routes)
    return app
