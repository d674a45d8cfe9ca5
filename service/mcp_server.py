"""MCP edge: the tools of service/tools.py over the official SDK, on stdio (`kb mcp`) or mounted at /mcp.

Each MCP tool's signature is derived from the tool's argument model (`tools.signature`), so the SDK
publishes the same input schema an LLM sees in /tools; the work happens in tools.call_tool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from service import __version__, tools
from service.errors import KBError
from service.operations import Operations

__all__ = ["create_mcp", "run_stdio"]

INSTRUCTIONS = (
    "社群运营知识库:来自五篇社群运营文章的原则,每条带原文出处(doc + 字符偏移)。"
    "回答用户前先调用 ask 或 diagnose_situation;answered=false 时如实说知识库没有答案。"
    " Knowledge base of cited principles on running WeChat communities. Call ask for questions and"
    " diagnose_situation when the user describes a problem; cite the returned sources; when answered is"
    " false, say the knowledge base has no answer."
)


def _handler(tool: tools.Tool, get_ops: Callable[[], Operations]) -> Callable[..., BaseModel]:
    def run(**arguments: Any) -> BaseModel:
        try:
            return tools.call_tool(
                get_ops(), tool.name, {k: v for k, v in arguments.items() if v is not None}
            )
        except KBError as exc:
            raise ToolError(exc.message) from exc

    run.__name__ = tool.name
    run.__signature__ = tools.signature(tool)  # type: ignore[attr-defined]
    return run


def create_mcp(get_ops: Callable[[], Operations]) -> MCPServer[Any]:
    """An MCP server whose tools call what `get_ops` returns at call time (so a reloaded index is
    picked up)."""
    server: MCPServer[Any] = MCPServer(
        name="community-ops-kb", instructions=INSTRUCTIONS, version=__version__
    )
    read_only = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)
    for tool in tools.TOOLS:
        server.add_tool(
            _handler(tool, get_ops),
            name=tool.name,
            description=tool.description,
            annotations=read_only,
            structured_output=True,
        )
    return server


def run_stdio(ops: Operations) -> None:
    create_mcp(lambda: ops).run("stdio")
