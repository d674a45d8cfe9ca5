"""The chat-assistant tools: one registry behind MCP (service/mcp_server.py) and OpenAI-style /tools.

Each tool has an argument model (the JSON schema an LLM sees) and a handler over the KnowledgeBase that
returns a compact, cited result model. Results are short on purpose: an assistant pays for every token.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import InputError
from service.kb import KnowledgeBase
from service.models import (
    MAX_QUERY_CHARS,
    MAX_SITUATION_CHARS,
    AskRequest,
    DiagnoseRequest,
    Hit,
    Principle,
    SearchRequest,
    TypeInfo,
)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchArgs(_Args):
    query: str = Field(
        description="search text in Chinese (simplified or traditional)", max_length=MAX_QUERY_CHARS
    )
    k: int | None = Field(None, ge=1, le=20, description="how many results, 1-20 (default 5)")
    types: list[str] | None = Field(None, description="only these principle types; see list_types")


class AskArgs(_Args):
    question: str = Field(description="the user's question, in Chinese", max_length=MAX_QUERY_CHARS)


class DiagnoseArgs(_Args):
    situation: str = Field(
        description="what is going wrong in the user's community, in their words",
        max_length=MAX_SITUATION_CHARS,
    )


class GetArgs(_Args):
    id: str = Field(description="a principle id from an earlier result", max_length=100)


class NoArgs(_Args):
    pass


# A POST /tools/call body is one of these, told apart by `name`: the published schema then says exactly
# which arguments each tool takes, and FastAPI validates against that same schema.
class _Call(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchCall(_Call):
    name: Literal["search_principles"]
    arguments: SearchArgs


class AskCall(_Call):
    name: Literal["ask"]
    arguments: AskArgs


class DiagnoseCall(_Call):
    name: Literal["diagnose_situation"]
    arguments: DiagnoseArgs


class GetCall(_Call):
    name: Literal["get_principle"]
    arguments: GetArgs


class ListTypesCall(_Call):
    name: Literal["list_types"]
    arguments: NoArgs = Field(default_factory=NoArgs)


AnyCall = SearchCall | AskCall | DiagnoseCall | GetCall | ListTypesCall
ToolCall = Annotated[
    AnyCall,
    Field(discriminator="name", description="a tool name from GET /tools and that tool's arguments"),
]


class Citation(BaseModel):
    doc: str
    article: str
    start: int
    end: int


class ToolHit(BaseModel):
    id: str
    type: str
    title: str
    summary: str
    advice: str | None = None
    citation: Citation


class SearchResult(BaseModel):
    results: list[ToolHit]


class AskResult(BaseModel):
    answered: bool = Field(description="false: the knowledge base has nothing on this; say so, do not guess")
    answer: str = Field(description="Chinese answer; [n] cites sources[n-1]")
    sources: list[ToolHit]


class DiagnoseItem(ToolHit):
    matched: list[str] = Field(description="the user's words that point to this pitfall")
    fixes: list[str] = Field(description="titles of practices that fix it")


class DiagnoseResult(BaseModel):
    pitfalls: list[DiagnoseItem]


class PrincipleResult(ToolHit):
    symptoms: list[str]
    quote: str = Field(description="the cited source passage, verbatim")


class TypesResult(BaseModel):
    types: list[TypeInfo]


def _compact(h: Hit | Principle) -> ToolHit:
    s = h.source
    return ToolHit(
        id=h.id,
        type=h.type,
        title=h.title,
        summary=h.summary,
        advice=h.advice,
        citation=Citation(doc=s.doc, article=s.title, start=s.start, end=s.end),
    )


def search_principles(kb: KnowledgeBase, a: SearchArgs) -> SearchResult:
    resp = kb.search(SearchRequest(query=a.query, k=a.k or 5, types=a.types))
    return SearchResult(results=[_compact(h) for h in resp.hits])


def ask(kb: KnowledgeBase, a: AskArgs) -> AskResult:
    resp = kb.ask(AskRequest(question=a.question, k=5))
    return AskResult(answered=resp.answered, answer=resp.answer, sources=[_compact(h) for h in resp.hits])


def diagnose_situation(kb: KnowledgeBase, a: DiagnoseArgs) -> DiagnoseResult:
    # the assistant gets pitfalls, each naming its fixes, rather than the linked principles as items
    resp = kb.diagnose(DiagnoseRequest(situation=a.situation, k=5, pitfalls_only=True))
    return DiagnoseResult(
        pitfalls=[
            DiagnoseItem(
                **_compact(h).model_dump(),
                matched=[m.text for m in h.matched],
                fixes=[f.title for f in h.fixes],
            )
            for h in resp.hits
        ]
    )


def get_principle(kb: KnowledgeBase, a: GetArgs) -> PrincipleResult:
    p = kb.get(a.id)
    return PrincipleResult(**_compact(p).model_dump(), symptoms=p.symptoms, quote=p.source.quote)


def list_types(kb: KnowledgeBase, a: NoArgs) -> TypesResult:
    return TypesResult(types=kb.types().types)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[_Args]
    result: type[BaseModel]
    handler: Callable[[KnowledgeBase, Any], BaseModel]


TOOLS: list[Tool] = [
    Tool(
        "search_principles",
        "检索社群运营知识库中的原则(陷阱、做法、定位步骤、角色等),返回带出处的条目。"
        " Search the community-operations knowledge base for cited principles; use for keywords or topics.",
        SearchArgs,
        SearchResult,
        search_principles,
    ),
    Tool(
        "ask",
        "用知识库回答关于社群运营的问题,答案带引用;answered=false 表示知识库没有答案,应如实告诉用户。"
        " Answer a question about running WeChat communities with citations; answered=false means the"
        " knowledge base has no answer: tell the user so instead of guessing.",
        AskArgs,
        AskResult,
        ask,
    ),
    Tool(
        "diagnose_situation",
        "用户描述社群里出了什么问题时使用:返回匹配的陷阱、触发匹配的原话和应对建议。"
        " Use when the user describes what is going wrong in their community: returns the matching pitfalls,"
        " the words that matched, and what to do instead.",
        DiagnoseArgs,
        DiagnoseResult,
        diagnose_situation,
    ),
    Tool(
        "get_principle",
        "按 id 取一条原则的完整内容和原文出处。 Fetch one principle by id, with its verbatim source passage.",
        GetArgs,
        PrincipleResult,
        get_principle,
    ),
    Tool(
        "list_types",
        "列出原则的类型词表,用于 search_principles 的 types 过滤。"
        " List the principle types, for the types filter of search_principles.",
        NoArgs,
        TypesResult,
        list_types,
    ),
]
BY_NAME = {t.name: t for t in TOOLS}


def call_tool(kb: KnowledgeBase, name: str, arguments: dict[str, Any]) -> BaseModel:
    """Validate arguments against the tool's model and run it; bad input raises InputError."""
    tool = BY_NAME.get(name)
    if tool is None:
        raise InputError(f"name: unknown tool {name!r}; tools: {', '.join(BY_NAME)}", field="name")
    try:
        args = tool.args.model_validate(arguments)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "arguments"
        raise InputError(f"arguments.{where}: {err['msg']}", field="arguments") from exc
    return run_tool(kb, tool, args)


def run_call(kb: KnowledgeBase, call: AnyCall) -> BaseModel:
    """Run an already validated POST /tools/call body."""
    return run_tool(kb, BY_NAME[call.name], call.arguments)


def run_tool(kb: KnowledgeBase, tool: Tool, args: _Args) -> BaseModel:
    try:
        return tool.handler(kb, args)
    except ValidationError as exc:  # the core's request models reject e.g. whitespace-only text
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise InputError(f"arguments.{where}: {err['msg'].removeprefix('Value error, ')}") from exc


def openai_schema(tool: Tool) -> dict[str, Any]:
    """An OpenAI function-calling tool, strict-mode compatible: every property required, optional ones
    nullable, no additional properties, no unsupported keywords."""
    params = _strict(copy.deepcopy(tool.args.model_json_schema()))
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "strict": True,
            "parameters": params,
        },
    }


_UNSUPPORTED = {"title", "default", "maxLength", "minLength", "minimum", "maximum", "maxItems", "minItems"}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _UNSUPPORTED:
            continue
        if isinstance(value, dict):
            value = _strict(value)
        elif isinstance(value, list):
            value = [_strict(v) if isinstance(v, dict) else v for v in value]
        out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["type"] = "object"
        out.setdefault("properties", {})
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    # strict mode keeps limits out of the schema; say them in the description instead
    limits = {k: schema[k] for k in ("minimum", "maximum", "maxLength") if k in schema}
    if limits and "description" in out:
        out["description"] += " (" + ", ".join(f"{k} {v}" for k, v in limits.items()) + ")"
    return out
