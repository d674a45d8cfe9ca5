"""The chat-assistant tools: one registry behind MCP (service/mcp_server.py) and OpenAI-style /tools.

Each tool names the operation's request model and which of its fields the assistant may set; the
argument model an LLM sees is derived from those fields (their types, limits and descriptions), never
written again; it is strict (an unknown argument or "k": "5" is an error). A tool may fix other fields or
choose its own defaults (5 results: an assistant pays for every token). The published
schema (`input_schema` for MCP, `openai_schema` for /tools) adds enums of the served index's types and
documents. Results are compact and cited, each citation with its raw quote and a short readable text.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from service.errors import InputError, describe_validation
from service.hits import to_compact
from service.models import AskRequest, Coverage, DiagnoseRequest, SearchRequest, ToolHit, TypeInfo
from service.operations import Operations
from service.store.context import CallContext
from service.store.models import FeedbackReceipt, FeedbackRequest

__all__ = [
    "BY_NAME",
    "TOOLS",
    "Tool",
    "ToolCall",
    "Vocabulary",
    "call_tool",
    "compact_json",
    "input_schema",
    "openai_schema",
    "run_call",
    "signature",
    "vocabulary",
]


class SearchResult(BaseModel):
    results: list[ToolHit]
    request_id: str | None = Field(
        None,
        description="this result's id: pass it to give_feedback when the user says it was right or wrong",
    )


class AskResult(BaseModel):
    answered: bool = Field(description="false: the knowledge base has nothing on this; say so, do not guess")
    coverage: Coverage = Field(
        description="answered; partial: some parts are not covered (listed in uncovered, do not answer "
        "them from the sources); not_covered: nothing on this, suggestions name the closest topics"
    )
    brief: str = Field(description="the direct answer in at most 150 characters; [n] cites sources[n-1]")
    answer: str = Field(description="the brief, then the list or points by title; [n] cites sources[n-1]")
    uncovered: list[str] = Field(description="parts of the question the articles do not cover")
    suggestions: list[str] = Field(description="closest covered topics, when not covered")
    sources: list[ToolHit]
    request_id: str | None = Field(
        None,
        description="this result's id: pass it to give_feedback when the user says it was right or wrong",
    )


class DiagnoseItem(ToolHit):
    matched: list[str] = Field(description="the user's words that point to this pitfall")
    fixed_by: list[str] = Field(description="titles of practices that fix it")


class DiagnoseResult(BaseModel):
    answered: bool = Field(description="false: not a community-operation problem; say so, do not guess")
    message: str | None = Field(None, description="why nothing was diagnosed")
    reading: str | None = Field(None, description="one line: the problems found; [n] cites pitfalls[n-1]")
    pitfalls: list[DiagnoseItem]
    request_id: str | None = Field(
        None,
        description="this result's id: pass it to give_feedback when the user says it was right or wrong",
    )


class PrincipleResult(ToolHit):
    symptoms: list[str]
    quote: str = Field(description="the cited source passage, verbatim")


class TypesResult(BaseModel):
    types: list[TypeInfo]


class GetRequest(BaseModel):
    """get_principle's request: the id (GET /principles/{id} takes it in the path)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: str = Field(min_length=1, max_length=100, description="a principle id from an earlier result")


class NoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _search(ops: Operations, req: BaseModel, ctx: CallContext | None) -> SearchResult:
    assert isinstance(req, SearchRequest)
    resp = ops.search(req, ctx=ctx)
    return SearchResult(results=[to_compact(h) for h in resp.hits], request_id=resp.request_id)


def _ask(ops: Operations, req: BaseModel, ctx: CallContext | None) -> AskResult:
    assert isinstance(req, AskRequest)
    resp = ops.ask(req, ctx=ctx)
    return AskResult(
        answered=resp.answered,
        coverage=resp.coverage,
        brief=resp.brief,
        answer=resp.answer,
        uncovered=resp.uncovered,
        suggestions=[s.title for s in resp.suggestions],
        sources=[to_compact(h) for h in resp.hits],
        request_id=resp.request_id,
    )


def _diagnose(ops: Operations, req: BaseModel, ctx: CallContext | None) -> DiagnoseResult:
    assert isinstance(req, DiagnoseRequest)
    resp = ops.diagnose(req, ctx=ctx)
    return DiagnoseResult(
        answered=resp.answered,
        message=resp.message,
        reading=resp.reading,
        pitfalls=[
            DiagnoseItem(
                **to_compact(h).model_dump(),
                matched=[m.text for m in h.matched],
                fixed_by=[f.title for f in h.fixed_by],
            )
            for h in resp.hits
        ],
        request_id=resp.request_id,
    )


def _get(ops: Operations, req: BaseModel, ctx: CallContext | None) -> PrincipleResult:
    assert isinstance(req, GetRequest)
    p = ops.get(req.id)
    return PrincipleResult(**to_compact(p).model_dump(), symptoms=p.symptoms, quote=p.source.quote)


def _types(ops: Operations, req: BaseModel, ctx: CallContext | None) -> TypesResult:
    return TypesResult(types=ops.types().types)


def _feedback(ops: Operations, req: BaseModel, ctx: CallContext | None) -> FeedbackReceipt:
    assert isinstance(req, FeedbackRequest)
    return ops.feedback(req, ctx)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    request: type[BaseModel]  # the operation's request model
    result: type[BaseModel]
    handler: Callable[[Operations, BaseModel, CallContext | None], BaseModel]
    exposed: tuple[str, ...] = ()  # the request fields an assistant sets
    descriptions: Mapping[str, str] = field(default_factory=dict)  # what the assistant reads, per field
    defaults: Mapping[str, object] = field(default_factory=dict)  # the tool's own defaults
    fixed: Mapping[str, object] = field(default_factory=dict)  # set by the tool, not the assistant
    writes: bool = False  # changes something (feedback); the others only read

    @functools.cached_property
    def args(self) -> type[BaseModel]:
        """The argument model an assistant fills in, derived from the request model."""
        return _args_model(self)

    def request_from(self, args: BaseModel) -> BaseModel:
        given = args.model_dump(exclude_none=True)  # null: the default
        return self.request.model_validate({**self.defaults, **given, **self.fixed})


def _args_model(tool: Tool) -> type[BaseModel]:
    """The request model's exposed fields; a field with a default becomes optional and nullable (null:
    the default), as OpenAI's strict mode wants every property listed."""
    fields: dict[str, Any] = {}
    for name in tool.exposed:
        info = tool.request.model_fields[name]
        described = FieldInfo.merge_field_infos(
            info, description=tool.descriptions.get(name, info.description)
        )
        if info.is_required():
            fields[name] = (Annotated[info.annotation, described], ...)
        else:
            default = tool.defaults.get(name, info.get_default(call_default_factory=True))
            described.default = None
            bounds = [getattr(m, a) for m in info.metadata for a in ("ge", "le") if hasattr(m, a)]
            hint = described.description or name
            hint += f", {bounds[0]}-{bounds[1]}" if len(bounds) == 2 else ""
            hint += f" (default {json.dumps(default)})" if default is not None else ""
            described.description = hint
            fields[name] = (Annotated[info.annotation | None, described], None)  # type: ignore[operator]
    return create_model(
        f"{''.join(w.title() for w in tool.name.split('_'))}Args",
        # strict: "k": "5" is a model's mistake to hear about, as on /tools/call and the HTTP API
        __config__=ConfigDict(extra="forbid", strict=True),
        **fields,
    )


TOOLS: list[Tool] = [
    Tool(
        "search_principles",
        "检索社群运营知识库中的原则(陷阱、做法、定位步骤、角色等),返回带出处的条目。"
        " Search the community-operations knowledge base for cited principles; use for keywords or topics.",
        SearchRequest,
        SearchResult,
        _search,
        exposed=("query", "k", "types", "docs"),
        descriptions={
            "query": "search text in Chinese (simplified or traditional)",
            "k": "how many results",
            "types": "only these principle types; see list_types",
            "docs": "only principles from these articles: short id (000) or file name",
        },
        defaults={"k": 5},
    ),
    Tool(
        "ask",
        "用知识库回答关于社群运营的问题,答案带引用;answered=false 表示知识库没有答案,应如实告诉用户。"
        " Answer a question about running WeChat communities with citations; answered=false means the"
        " knowledge base has no answer: tell the user so instead of guessing.",
        AskRequest,
        AskResult,
        _ask,
        exposed=("question", "k"),
        descriptions={"question": "the user's question, in Chinese", "k": "how many sources at most"},
    ),
    Tool(
        "diagnose_situation",
        "用户描述社群里出了什么问题时使用:返回匹配的陷阱(以及文章里回应这种情况的做法)、触发匹配的原话和应对建议。"
        " Use when the user describes what is going wrong in their community: returns the matching pitfalls"
        " (and the practices the articles give for such a situation; each item's type tells), the words that"
        " matched, and what to do instead.",
        DiagnoseRequest,
        DiagnoseResult,
        _diagnose,
        exposed=("situation", "k", "pitfalls_only"),
        descriptions={
            "situation": "what is going wrong in the user's community, in their words",
            "k": "how many items at most",
            "pitfalls_only": "false (default): every type ranked, pitfalls and the practices or passages "
            "that answer the situation (each item's type tells); true: pitfalls only, each naming its fixes",
        },
        # no pitfalls-only default here: on our tuning set it ranked the situations' sources at nDCG@10
        # 0.59 against 0.75, and an assistant's answer is only as grounded as what it is handed
    ),
    Tool(
        "get_principle",
        "按 id 取一条原则的完整内容和原文出处。 Fetch one principle by id, with its verbatim source passage.",
        GetRequest,
        PrincipleResult,
        _get,
        exposed=("id",),
    ),
    Tool(
        "list_types",
        "列出原则的类型词表,用于 search_principles 的 types 过滤。"
        " List the principle types, for the types filter of search_principles.",
        NoRequest,
        TypesResult,
        _types,
    ),
    Tool(
        "give_feedback",
        "用户对某次 ask、diagnose_situation 或 search_principles 的结果表示满意或不满意时调用,传入该结果的"
        " request_id;不满意时可给出原因和应该出现的原则 id。 Record the user's verdict on an earlier result,"
        " by its request_id: up or down, and when down why and which principles should have come.",
        FeedbackRequest,
        FeedbackReceipt,
        _feedback,
        exposed=("request_id", "rating", "reason", "principle_ids", "comment"),
        descriptions={
            "request_id": "the request_id of the result being rated",
            "rating": "up: it helped; down: it did not",
            "reason": "why down: wrong, incomplete, not_covered (the question is not in the articles), other",
            "principle_ids": "ids (from get_principle or an earlier result) that should have come",
            "comment": "the user's own words about it",
        },
        writes=True,
    ),
]
BY_NAME = {t.name: t for t in TOOLS}


def _call_model(tool: Tool) -> type[BaseModel]:
    """A POST /tools/call body for one tool: its name and its arguments, told apart by `name`."""
    args = tool.args
    arguments: Any = (args, Field(default_factory=args)) if not args.model_fields else (args, ...)
    name: Any = Literal[tool.name]
    return create_model(
        f"{args.__name__.removesuffix('Args')}Call",
        __config__=ConfigDict(extra="forbid"),
        name=(name, ...),
        arguments=arguments,
    )


# the published schema says exactly which arguments each tool takes, and FastAPI validates against it
ToolCall: Any = Annotated[
    Union[tuple(_call_model(t) for t in TOOLS)],  # noqa: UP007 (a union built from the registry)
    Field(discriminator="name", description="a tool name from GET /tools and that tool's arguments"),
]


def call_tool(
    ops: Operations, name: str, arguments: dict[str, Any], ctx: CallContext | None = None
) -> BaseModel:
    """Validate arguments against the tool's model and run it; bad input raises InputError."""
    tool = BY_NAME.get(name)
    if tool is None:
        raise InputError(f"name: unknown tool {name!r}; tools: {', '.join(BY_NAME)}")
    try:
        args = tool.args.model_validate(arguments)
    except ValidationError as exc:
        raise InputError(describe_validation(exc.errors(), prefix="arguments.")) from exc
    return run_tool(ops, tool, args, ctx)


def run_call(ops: Operations, call: BaseModel, ctx: CallContext | None = None) -> BaseModel:
    """Run an already validated POST /tools/call body."""
    name = getattr(call, "name")  # noqa: B009 (the call models are built at run time)
    return run_tool(ops, BY_NAME[name], getattr(call, "arguments"), ctx)  # noqa: B009


def run_tool(ops: Operations, tool: Tool, args: BaseModel, ctx: CallContext | None = None) -> BaseModel:
    try:
        req = tool.request_from(args)
    except ValidationError as exc:  # the core's request models reject e.g. whitespace-only text
        raise InputError(describe_validation(exc.errors(), prefix="arguments.")) from exc
    return tool.handler(ops, req, ctx)


def compact_json(result: BaseModel) -> str:
    """A tool result as an assistant reads it: JSON without spaces or indentation, Chinese unescaped."""
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def signature(tool: Tool) -> inspect.Signature:
    """The tool's arguments as a Python signature (keyword-only), for the MCP SDK to derive its schema."""
    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if info.is_required() else None,
            annotation=Annotated[info.annotation, info],
        )
        for name, info in tool.args.model_fields.items()
    ]
    return inspect.Signature(params, return_annotation=tool.result)


# the arguments whose accepted values come from the index being served: JSON-schema enums
Vocabulary = Mapping[str, list[str]]


def vocabulary(ops: Operations) -> dict[str, list[str]]:
    """The names the filters accept: type names, and documents by short id and by file name."""
    docs = ops.documents().documents
    return {
        "types": [t.name for t in ops.types().types],
        "docs": [d.id for d in docs] + [d.doc for d in docs],
    }


def input_schema(tool: Tool, vocab: Vocabulary | None = None) -> dict[str, Any]:
    """The JSON schema of a tool's arguments, as MCP publishes it: the argument model's own schema
    (descriptions, bounds, maxLength, defaults), with enums for the filters from `vocab`."""
    schema = copy.deepcopy(tool.args.model_json_schema())
    for name, prop in schema.get("properties", {}).items():
        if vocab and name in vocab:
            for branch in prop.get("anyOf", [prop]):
                if branch.get("type") == "array":
                    branch["items"]["enum"] = list(vocab[name])
    return schema


def openai_schema(tool: Tool, vocab: Vocabulary | None = None) -> dict[str, Any]:
    """An OpenAI function-calling tool, strict-mode compatible: every property required, optional ones
    nullable, no additional properties, no unsupported keywords."""
    params = _strict(input_schema(tool, vocab))
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
