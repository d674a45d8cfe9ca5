"""MCP edge: the tools of service/tools.py over the official SDK, on stdio (`kb mcp`) or mounted at /mcp,
and the articles as resources (`kb://documents/000`, `kb://documents/000/120-480` for a range).

The tools are registered with the SDK for its bookkeeping, but listing and calling go through our own
argument models, the ones behind /tools: the published input schema is `tools.input_schema` (their
descriptions, bounds, maxLength, and enums of the served index's types and documents), and a call is
validated by them strictly, so an unknown argument or `"k": "5"` is a tool error, as on /tools/call.
A result is compact JSON text plus the same value as structured content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from mcp_types import Resource as MCPResource
from mcp_types import Tool as MCPTool
from pydantic import BaseModel

from service import __version__, tools
from service.errors import KBError
from service.models import DocumentQuery
from service.operations import Operations
from service.store.context import CallContext, new_request_id

__all__ = ["DOCUMENTS", "create_mcp", "run_stdio"]

INSTRUCTIONS = (
    "社群运营知识库:来自五篇社群运营文章的原则,每条带原文出处(doc + 字符偏移 + 简短引文)。"
    "回答用户前先调用 ask 或 diagnose_situation;answered=false 时如实说知识库没有答案。"
    "原文可作为资源读取:kb://documents/000,或某一段:kb://documents/000/起-止。"
    " Knowledge base of cited principles on running WeChat communities. Call ask for questions and"
    " diagnose_situation when the user describes a problem; cite the returned sources (each citation"
    " carries a short quote); when answered is false, say the knowledge base has no answer. The articles"
    " are resources: kb://documents/000, or a range around a citation: kb://documents/000/START-END."
)

DOCUMENTS = "kb://documents/"


class _KBServer(MCPServer[Any]):
    def __init__(self, get_ops: Callable[[], Operations], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._get_ops = get_ops

    async def list_tools(self) -> list[MCPTool]:
        vocab = await anyio.to_thread.run_sync(tools.vocabulary, self._get_ops())
        return [
            t.model_copy(update={"input_schema": tools.input_schema(tools.BY_NAME[t.name], vocab)})
            for t in await super().list_tools()
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult:
        try:
            # encoding and ranking are CPU work: off the event loop, as FastAPI runs plain `def` routes
            result: BaseModel = await anyio.to_thread.run_sync(
                tools.call_tool, self._get_ops(), name, dict(arguments), _call_context(context)
            )
        except KBError as exc:
            return CallToolResult(content=[TextContent(type="text", text=exc.message)], is_error=True)
        return CallToolResult(
            content=[TextContent(type="text", text=tools.compact_json(result))],
            structured_content=result.model_dump(mode="json"),
        )

    async def list_resources(self) -> list[MCPResource]:
        listing = await anyio.to_thread.run_sync(self._get_ops().documents)
        return [
            MCPResource(
                uri=f"{DOCUMENTS}{d.id}",
                name=d.doc,
                title=d.title,
                description=f"raw article text, {d.chars} characters; citations' start/end index it; "
                f"{DOCUMENTS}{d.id}/START-END reads a range",
                mime_type="text/plain",
            )
            for d in listing.documents
        ]


def _call_context(context: Context[Any, Any] | None) -> CallContext:
    """The call as the core records it: over HTTP, the request id and key name the app's access log and
    key check gave the POST /mcp carrying it; on stdio a fresh id."""
    try:
        request = context.request_context.request if context is not None else None
    except ValueError:  # no request context (a call made outside a session)
        request = None
    state: dict[str, Any] = getattr(request, "scope", {}).get("state", {})
    return CallContext("mcp", state.get("key_name"), state.get("request_id") or new_request_id())


def _read(get_ops: Callable[[], Operations], doc: str, req: DocumentQuery | None = None) -> str:
    try:
        found = get_ops().document(doc, req)
    except KBError as exc:
        raise ResourceError(exc.message) from exc
    return found.range.raw if found.range is not None else found.text or ""


def _add_resources(server: MCPServer[Any], get_ops: Callable[[], Operations]) -> None:
    @server.resource(f"{DOCUMENTS}{{doc}}", name="document", mime_type="text/plain")
    def document(doc: str) -> str:
        """A raw article by short id (000) or file name."""
        return _read(get_ops, doc)

    @server.resource(f"{DOCUMENTS}{{doc}}/{{span}}", name="document range", mime_type="text/plain")
    def document_range(doc: str, span: str) -> str:
        """START-END of a raw article (code-point offsets, as in citations), raw."""
        start, _, end = span.partition("-")
        if not (start.isdigit() and end.isdigit()):
            raise ResourceError(f"{span!r}: expected START-END, two offsets such as 120-480")
        return _read(get_ops, doc, DocumentQuery(start=int(start), end=int(end)))


def _handler(tool: tools.Tool) -> Callable[..., BaseModel]:
    """What the SDK registers (it derives its bookkeeping from the signature); `_KBServer.call_tool`
    runs the tool instead."""

    def run(**arguments: Any) -> BaseModel:
        raise NotImplementedError(tool.name)  # pragma: no cover

    run.__name__ = tool.name
    run.__signature__ = tools.signature(tool)  # type: ignore[attr-defined]
    return run


def create_mcp(get_ops: Callable[[], Operations]) -> MCPServer[Any]:
    """An MCP server whose tools and resources read what `get_ops` returns at call time (so a reloaded
    index is picked up)."""
    server = _KBServer(get_ops, name="community-ops-kb", instructions=INSTRUCTIONS, version=__version__)
    read_only = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)
    # rating a result writes (rating it again replaces the rating: idempotent)
    writes = ToolAnnotations(readOnlyHint=False, idempotentHint=True, openWorldHint=False)
    for tool in tools.TOOLS:
        server.add_tool(
            _handler(tool),
            name=tool.name,
            description=tool.description,
            annotations=writes if tool.writes else read_only,
            structured_output=True,
        )
    _add_resources(server, get_ops)
    return server


def run_stdio(ops: Operations) -> None:
    create_mcp(lambda: ops).run("stdio")
