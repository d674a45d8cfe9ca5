"""The chat-assistant tools, OpenAI function-calling style (MCP is mounted at /mcp by the app)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Body

from service import tools
from service.api.access import router as make_router
from service.api.deps import CallDep, KBDep
from service.models import ErrorBody, ToolCallResponse, ToolList

__all__ = ["router"]

# costly: its POST route (a tool call) is admitted like search; listing the tools is not
router = make_router(costly=True, prefix="/tools", tags=["assistants"])


@router.get("", response_model=ToolList)
def list_tools(kb: KBDep) -> ToolList:
    """The chat-assistant tools as OpenAI function-calling definitions (strict mode); the type and
    document filters list the values the served index accepts."""
    vocab = tools.vocabulary(kb)
    return ToolList(tools=[tools.openai_schema(t, vocab) for t in tools.TOOLS])


@router.post(
    "/call",
    response_model=ToolCallResponse,
    responses={404: {"model": ErrorBody, "description": "get_principle with an unknown id"}},
)
def call_tool(req: Annotated[tools.ToolCall, Body()], kb: KBDep, call: CallDep) -> ToolCallResponse:
    """Run one tool by name, as an assistant framework would after the model chose it."""
    result = tools.run_call(kb, req, replace(call, surface="tools"))
    return ToolCallResponse(name=req.name, result=result.model_dump(mode="json"))
