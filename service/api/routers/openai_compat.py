"""OpenAI-compatible chat: `GET /v1/models` and `POST /v1/chat/completions` (a JSON completion, or with
`stream: true` server-sent events in OpenAI's chunk format ending with `data: [DONE]`), so a chat
front-end reaches the knowledge base with a base URL and a key. Errors leave in OpenAI's shape
(service/api/dialects.py). Which operation answers and what the reply says is service/platforms/chat.py's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime

from fastapi.responses import Response, StreamingResponse

from service.api.access import router as make_router
from service.api.deps import BaseURLDep, CallDep, KBDep
from service.api.dialects import OPENAI
from service.errors import UnknownModelError
from service.kb import KnowledgeBase
from service.platforms import chat
from service.platforms.models import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatReplyMessage,
    Choice,
    ChunkChoice,
    Delta,
    ModelCard,
    ModelList,
    OpenAIError,
    Usage,
)

__all__ = ["router"]

# costly: a completion is an ask or a diagnose, admitted like them; listing the models is not
router = make_router(costly=True, dialect=OPENAI, prefix="/v1", tags=["platforms"])

_STREAM = {
    "description": "with `stream: true`: server-sent events, each `data:` a chat.completion.chunk, the "
    "last `data: [DONE]`",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def _created(kb: KnowledgeBase) -> int:
    built = kb.index.manifest.built_at
    try:
        return int(datetime.fromisoformat(built.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _card(kb: KnowledgeBase, model: str) -> ModelCard:
    return ModelCard(id=model, created=_created(kb))


@router.get("/models", response_model=ModelList)
def models(kb: KBDep) -> ModelList:
    """The three models: `community-ops-kb` chooses ask or diagnose per message; `community-ops-kb-ask`
    and `community-ops-kb-diagnose` force one."""
    return ModelList(data=[_card(kb, m) for m in chat.MODELS])


@router.get(
    "/models/{model}",
    response_model=ModelCard,
    responses={404: {"model": OpenAIError, "description": "model_not_found"}},
)
def model(model: str, kb: KBDep) -> ModelCard:
    if model not in chat.MODELS:
        raise UnknownModelError(f"model: no model {model!r}; models: {', '.join(chat.MODELS)}")
    return _card(kb, model)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: _STREAM, 404: {"model": OpenAIError, "description": "model_not_found"}},
)
def chat_completions(
    req: ChatCompletionRequest, kb: KBDep, base: BaseURLDep, call: CallDep
) -> ChatCompletion | Response:
    """The last user message answered as `/ask` or `/diagnose` would (the model says which, or it is
    chosen per message), in markdown with [n] citations and a 参考 list linking to the article view; a
    short follow-up on a point of the previous reply ("第二点展开说说") gets that principle in full.
    Generation options (temperature, max_tokens, …) are accepted and ignored. `usage` counts characters.
    `request_id` (also the id's suffix and the X-Request-ID header) names this answer for feedback."""
    turns = chat.turns_of(req.messages)
    reply = chat.respond(kb, turns, req.model, base, call)
    rid = call.request_id  # the query log's id of this answer: POST /feedback takes it
    prompt = chat.characters(turns)
    usage = Usage(
        prompt_tokens=prompt, completion_tokens=len(reply.text), total_tokens=prompt + len(reply.text)
    )
    created = int(time.time())
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        events = _events(rid, created, req.model, reply.text, usage if include_usage else None)
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return ChatCompletion(
        id=f"chatcmpl-{rid}",
        created=created,
        model=req.model,
        choices=[Choice(message=ChatReplyMessage(content=reply.text))],
        usage=usage,
        request_id=rid,
        mode=reply.mode,
    )


def _events(rid: str, created: int, model: str, text: str, usage: Usage | None) -> Iterator[str]:
    """The reply as OpenAI streams one: the role first, then the text a line at a time, then the finish
    reason, then (when asked for) usage with no choices, then [DONE]."""

    def chunk(choices: list[ChunkChoice], with_usage: Usage | None = None) -> str:
        c = ChatCompletionChunk(
            id=f"chatcmpl-{rid}", created=created, model=model, choices=choices, request_id=rid
        )
        data = c.model_dump(mode="json", exclude={"usage"})
        for choice in data["choices"]:  # OpenAI's deltas carry only what they set
            choice["delta"] = {k: v for k, v in choice["delta"].items() if v is not None}
        if with_usage is not None:
            data["usage"] = with_usage.model_dump()
        return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"

    yield chunk([ChunkChoice(delta=Delta(role="assistant", content=""))])
    for line in text.splitlines(keepends=True):
        yield chunk([ChunkChoice(delta=Delta(content=line))])
    yield chunk([ChunkChoice(delta=Delta(), finish_reason="stop")])
    if usage is not None:
        yield chunk([], usage)
    yield "data: [DONE]\n\n"
