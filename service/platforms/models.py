"""Other platforms' wire formats, as we speak them: Dify's External Knowledge API and OpenAI's chat
completions. Our own requests and responses stay in service/models.py; these are edge formats, written
after the callers' own code and types (cited per model), so a field is named and typed as they send it.

Unlike our own requests, these ignore unknown fields: a newer Dify or OpenAI client adds fields, and an
integration must not break on the day it does. What we read is declared here with its limits.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.models import MAX_QUERY_CHARS

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "ChatReplyMessage",
    "Choice",
    "ChunkChoice",
    "Condition",
    "ContentPart",
    "Delta",
    "DifyError",
    "DifyRecord",
    "DifyRecordMetadata",
    "DifyRetrievalRequest",
    "DifyRetrievalResponse",
    "MetadataCondition",
    "ModelCard",
    "ModelList",
    "OpenAIError",
    "OpenAIErrorDetail",
    "RetrievalSetting",
    "StreamOptions",
    "Usage",
]


class _Foreign(BaseModel):
    # another platform's request: fields we do not read are ignored, not refused (see the module doc);
    # the ones we read are strict, as ours are ("top_k": "5" or a true among numbers is a caller's bug)
    model_config = ConfigDict(extra="ignore", strict=True)


# -- Dify: External Knowledge API ------------------------------------------------------------------------
# The request as langgenius/dify sends it (api/services/external_knowledge_service.py,
# fetch_external_knowledge_retrieval) and as docs.dify.ai documents it (use-dify/knowledge/
# external-knowledge-api); the conditions as api/core/rag/entities/metadata_entities.py types them.


class RetrievalSetting(_Foreign):
    top_k: int | None = Field(
        None, ge=1, le=50, description="how many records at most (Dify's top_k; null: 5)"
    )
    score_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="drop records whose score is below this; Dify sends 0.0 when its threshold is off. "
        "The score is our /search relevance, so this means what /search's min_relevance means",
    )


ConditionValue = str | int | float | list[str] | list[int] | list[float] | None


class Condition(_Foreign):
    name: str | list[str] = Field(
        description="the metadata field: type, doc or group (other names are ignored); older Dify "
        "versions document a list of names: the condition then applies to each supported one"
    )
    comparison_operator: str = Field(
        max_length=32,
        description="is, is not, =, ≠, in, not in, contains, not contains, start with, end with, empty, "
        "not empty (the numeric and date operators do not apply to these text fields: 422)",
    )
    value: ConditionValue = None


class MetadataCondition(_Foreign):
    logical_operator: Literal["and", "or"] | None = Field("and", description="how the conditions combine")
    conditions: list[Condition] | None = Field(None, max_length=20)


class DifyRetrievalRequest(_Foreign):
    knowledge_id: str = Field(
        min_length=1,
        max_length=100,
        description="what to search: all (the whole knowledge base), a principle type (GET /types, e.g. "
        "pitfall) or an article by short id (GET /documents, e.g. 004) or file name",
    )
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="the user's query")
    retrieval_setting: RetrievalSetting = Field(default_factory=RetrievalSetting)
    metadata_condition: MetadataCondition | None = None


class DifyRecordMetadata(BaseModel):
    """What Dify keeps beside a record (it adds score, title, dataset_id and dataset_name itself, so
    none of those names is used here)."""

    id: str = Field(description="the principle's id (GET /principles/{id})")
    type: str
    doc: str = Field(description="the article's file name")
    doc_id: str = Field(description="the article's short id")
    article: str = Field(description="the article's title")
    start: int = Field(description="the cited span's first code point in the article")
    end: int
    group: str | None = Field(None, description="the list the principle belongs to (omitted when none)")
    advice_source: str | None = Field(None, description="article or curator (omitted without advice)")
    url: str = Field(description="the web UI's article view, the cited span highlighted")


class DifyRecord(BaseModel):
    content: str = Field(
        description="what an LLM reads: the principle's title, summary, advice with who states it, and "
        "the cited passage as a person reads it"
    )
    score: float = Field(ge=0, le=1, description="the hit's relevance, as /search returns it")
    title: str = Field(description="the principle's title and its article")
    metadata: DifyRecordMetadata


class DifyRetrievalResponse(BaseModel):
    records: list[DifyRecord]


class DifyError(BaseModel):
    """Dify's documented error shape: 1001 bad Authorization header, 1002 wrong key, 2001 unknown
    knowledge_id; any other error carries its HTTP status as error_code."""

    error_code: int
    error_msg: str


# -- OpenAI: chat completions ------------------------------------------------------------------------------
# The shapes of the openai Python package's types (openai/types/chat/chat_completion.py,
# chat_completion_chunk.py, completion_usage.py, model.py).


class ContentPart(_Foreign):
    type: str = Field(max_length=32, description="text is read; image_url and other parts are ignored")
    text: str | None = None


class ChatMessage(_Foreign):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(_Foreign):
    include_usage: bool | None = Field(None, description="send a last chunk with usage and no choices")


class ChatCompletionRequest(_Foreign):
    model: str = Field(
        min_length=1,
        max_length=100,
        description="community-ops-kb (ask or diagnose, chosen per message), community-ops-kb-ask or "
        "community-ops-kb-diagnose (GET /v1/models)",
    )
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool | None = Field(False, description="server-sent events in OpenAI's chunk format")
    stream_options: StreamOptions | None = None
    # accepted and ignored: no language model runs, the reply is the knowledge base's own answer
    temperature: float | None = Field(None, description="accepted and ignored")
    top_p: float | None = Field(None, description="accepted and ignored")
    max_tokens: int | None = Field(None, description="accepted and ignored")
    max_completion_tokens: int | None = Field(None, description="accepted and ignored")
    n: int | None = Field(None, description="accepted and ignored: there is always one choice")
    stop: str | list[str] | None = Field(None, description="accepted and ignored")
    presence_penalty: float | None = Field(None, description="accepted and ignored")
    frequency_penalty: float | None = Field(None, description="accepted and ignored")
    seed: int | None = Field(None, description="accepted and ignored (answers are deterministic)")
    user: str | None = Field(None, description="accepted and ignored")
    tools: list[dict[str, Any]] | None = Field(
        None, description="accepted and ignored: the tools are served at GET /tools and /mcp"
    )
    tool_choice: str | dict[str, Any] | None = Field(None, description="accepted and ignored")
    response_format: dict[str, Any] | None = Field(None, description="accepted and ignored")


class Usage(BaseModel):
    """Counted in characters (Unicode code points), not tokens: no tokenizer of a language model runs."""

    prompt_tokens: int = Field(description="characters of the messages' text content")
    completion_tokens: int = Field(description="characters of the reply")
    total_tokens: int


class ChatReplyMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChatReplyMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


RequestId = Annotated[
    str, Field(description="this request's id (the X-Request-ID header), to refer to it in feedback")
]


class ChatCompletion(BaseModel):
    id: str = Field(description="chatcmpl- and the request id")
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    request_id: RequestId
    mode: Literal["ask", "diagnose", "expand"] = Field(
        description="what answered: ask, diagnose, or expand (a follow-up on a point of the previous reply)"
    )


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    request_id: RequestId


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="when the served index was built (Unix seconds)")
    owned_by: str = "community-ops-kb"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, server_error, …")
    code: str | None = Field(description="our error code, e.g. invalid_input, model_not_found, overloaded")
    param: str | None = None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail
