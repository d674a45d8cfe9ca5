"""MCP edge: the tools of service/tools.py over the official SDK, on stdio (`kb mcp`) or mounted at /mcp.

Each MCP tool is a thin typed function so the SDK derives the same input schema an LLM sees in /tools;
the work happens in tools.call_tool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from service import tools
from service.errors import KBError
from service.kb import KnowledgeBase

M = TypeVar("M", bound=BaseModel)

INSTRUCTIONS = (
    "社群运营知识库:来自五篇社群运营文章的原则,每条带原文出处(doc + 字符偏移)。"
    "回答用户前先调用 ask 或 diagnose_situation;answered=false 时如实说知识库没有答案。"
    " Knowledge base of cited principles on running WeChat communities. Call ask for questions and"
    " diagnose_situation when the user describes a problem; cite the returned sources; when answered is"
    " false, say the knowledge base has no answer."
)


def create_mcp(get_kb: Callable[[], KnowledgeBase]) -> MCPServer[Any]:
    """An MCP server whose tools call the KnowledgeBase that `get_kb` returns at call time (so a
    reloaded index is picked up)."""
    server: MCPServer[Any] = MCPServer(name="community-ops-kb", instructions=INSTRUCTIONS, version="0.1.0")
    read_only = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)

    def run(name: str, arguments: dict[str, Any], model: type[M]) -> M:
        try:
            out = tools.call_tool(get_kb(), name, {k: v for k, v in arguments.items() if v is not None})
        except KBError as exc:
            raise ToolError(exc.message) from exc
        assert isinstance(out, model)
        return out

    def search_principles(query: str, k: int = 5, types: list[str] | None = None) -> tools.SearchResult:
        return run("search_principles", {"query": query, "k": k, "types": types}, tools.SearchResult)

    def ask(question: str) -> tools.AskResult:
        return run("ask", {"question": question}, tools.AskResult)

    def diagnose_situation(situation: str) -> tools.DiagnoseResult:
        return run("diagnose_situation", {"situation": situation}, tools.DiagnoseResult)

    def get_principle(id: str) -> tools.PrincipleResult:
        return run("get_principle", {"id": id}, tools.PrincipleResult)

    def list_types() -> tools.TypesResult:
        return run("list_types", {}, tools.TypesResult)

    for fn in (search_principles, ask, diagnose_situation, get_principle, list_types):
        spec = tools.BY_NAME[fn.__name__]
        server.add_tool(
            fn, name=spec.name, description=spec.description, annotations=read_only, structured_output=True
        )
    return server


def run_stdio(kb: KnowledgeBase) -> None:
    create_mcp(lambda: kb).run("stdio")
