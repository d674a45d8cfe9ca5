"""The OpenAI-compatible chat endpoint on a live server, through the real `openai` package (sync, async,
streaming), raw server-sent events read with httpx, and a chat front-end's typical request. Answers come
from the real index."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI

from service.api import create_app
from service.kb import KnowledgeBase
from service.settings import Settings

KEY = "chat-key"
MODELS = ["community-ops-kb", "community-ops-kb-ask", "community-ops-kb-diagnose"]
QUESTION = "社群定位分哪几步?"
SITUATION = "我们群里全是广告,没人说话,大家都潜水"


@pytest.fixture(scope="module")
def base(
    settings: Settings, kb: KnowledgeBase, serve: Callable[[FastAPI, Settings], AbstractContextManager[str]]
) -> Iterator[str]:
    """The server's address, with keys: a chat front-end's base URL is this plus /v1."""
    with_keys = settings.model_copy(update={"api_keys": [KEY]})
    with serve(create_app(with_keys, kb), with_keys) as url:
        yield url


@pytest.fixture(scope="module")
def client(base: str) -> openai.OpenAI:
    # no retries: an error must surface at once, not after the client's backoff
    return openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)


def _extra(obj: Any, name: str) -> Any:
    return (obj.model_extra or {})[name]


def _cited(content: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", content.split("**参考**")[0])}


def test_models(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == MODELS
    assert client.models.retrieve("community-ops-kb-ask").owned_by == "community-ops-kb"
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("gpt-4o")
    assert err.value.code == "model_not_found"


def test_a_question_is_answered_with_citations(client: openai.OpenAI, base: str) -> None:
    completion = client.chat.completions.create(
        model="community-ops-kb", messages=[{"role": "user", "content": QUESTION}]
    )
    content = completion.choices[0].message.content or ""
    assert completion.object == "chat.completion" and completion.model == "community-ops-kb"
    assert completion.choices[0].finish_reason == "stop" and completion.choices[0].message.role == "assistant"
    assert _extra(completion, "mode") == "ask"
    assert content.startswith("社群定位三步法共3步:第一步：梳理业务模型")
    assert "1. **第一步：梳理业务模型，让社群服务业务增长** [1]" in content
    # every [n] of the answer is in its 参考 list, which links to the article view with the span
    refs = re.findall(r"^- \[(\d+)\] \[[^\]]+\]\((\S+)\) 《([^》]+)》「", content, re.MULTILINE)
    assert _cited(content) <= {int(n) for n, _, _ in refs}
    assert refs[0][1] == (
        f"{base}/#/article/001_5b71ea1ae9638b37.txt?p=p001-positioning-business-model&start=2700&end=2862"
    )
    # the request id, for feedback: in the body, in the id, and the openai client's own _request_id
    rid = _extra(completion, "request_id")
    assert completion.id == f"chatcmpl-{rid}" and completion._request_id == rid
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        len(QUESTION),
        len(content),
    )
    assert completion.usage.total_tokens == len(QUESTION) + len(content)


def test_a_situation_is_diagnosed(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="community-ops-kb", messages=[{"role": "user", "content": SITUATION}]
    )
    content = completion.choices[0].message.content or ""
    assert _extra(completion, "mode") == "diagnose"
    assert content.startswith("主要是")
    # each problem of the situation is a pitfall, with the user's own words that point to it
    assert re.search(r"\*\*群里只剩广告\*\* \[\d\]\n   - 对应你说的「我们群里全是广告」", content), content
    assert re.search(r"\*\* \[\d\]\n   - 对应你说的「没人说话」", content), content


@pytest.mark.parametrize(
    ("model", "text", "mode"),
    [("community-ops-kb-ask", SITUATION, "ask"), ("community-ops-kb-diagnose", QUESTION, "diagnose")],
)
def test_a_model_forces_its_operation(client: openai.OpenAI, model: str, text: str, mode: str) -> None:
    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    assert _extra(completion, "mode") == mode


def test_out_of_scope_says_not_covered_and_suggests_topics(client: openai.OpenAI, base: str) -> None:
    completion = client.chat.completions.create(
        model="community-ops-kb", messages=[{"role": "user", "content": "红烧肉怎么做才能肥而不腻?"}]
    )
    content = completion.choices[0].message.content or ""
    assert content.startswith("知识库里没有能回答这个问题的内容。")
    topics = re.findall(
        r"^- \[\d\] \[[^\]]+\]\((\S+)\)$", content.split("**知识库里相近的主题**")[1], re.MULTILINE
    )
    assert len(topics) == 3 and all(t.startswith(f"{base}/#/principle/") for t in topics)


def test_async_client(base: str) -> None:
    async def ask() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0) as aclient:
            completion = await aclient.chat.completions.create(
                model="community-ops-kb", messages=[{"role": "user", "content": SITUATION}]
            )
            return _extra(completion, "mode"), completion.choices[0].message.content or ""

    mode, content = asyncio.run(ask())
    assert mode == "diagnose" and "群里只剩广告" in content


def test_streaming_gives_the_same_reply_in_chunks(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(
        model="community-ops-kb", messages=[{"role": "user", "content": QUESTION}]
    )
    stream = client.chat.completions.create(
        model="community-ops-kb",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len(chunks) > 5  # a line at a time
    finished = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finished[-1] == "stop" and set(finished[:-1]) == {None}
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens == len(text)


def test_raw_server_sent_events(base: str) -> None:
    body = {"model": "community-ops-kb", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    with httpx.stream(
        "POST", f"{base}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        rid = resp.headers["x-request-id"]
        events = [line for line in resp.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert {c["id"] for c in chunks} == {f"chatcmpl-{rid}"} and {c["request_id"] for c in chunks} == {rid}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}
    assert "usage" not in chunks[-1]  # not asked for
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.startswith("社群定位三步法共3步") and "**参考**" in text


def test_a_chat_front_ends_typical_request(client: openai.OpenAI) -> None:
    """What Open WebUI or Cherry Studio send: a system prompt, the conversation so far (our own earlier
    reply included), generation options, stream: true. The follow-up is resolved against that reply."""
    first = client.chat.completions.create(
        model="community-ops-kb", messages=[{"role": "user", "content": QUESTION}]
    )
    earlier = first.choices[0].message.content or ""
    stream = client.chat.completions.create(
        model="community-ops-kb",
        messages=[
            {"role": "system", "content": "You are a helpful assistant. 用中文回答。"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": QUESTION},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {"role": "assistant", "content": earlier},
            {"role": "user", "content": "第二点展开说说"},
        ],
        stream=True,
        temperature=0.7,
        top_p=1,
        max_tokens=2048,
        presence_penalty=0,
        frequency_penalty=0,
        user="someone",
        extra_body={"keep_alive": "5m", "num_ctx": 4096},  # what some front-ends add
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("**第二步：按社群在业务中的位置确定类型** [1]")
    assert "原文(《新手做社群运营必踩的7个大坑,如何才能做好社群运营?》):" in text
    # a new question after that is answered on its own
    again = client.chat.completions.create(
        model="community-ops-kb",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": earlier},
            {"role": "user", "content": SITUATION},
        ],
    )
    assert _extra(again, "mode") == "diagnose"


def test_generation_options_are_accepted_and_ignored(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(
        model="community-ops-kb", messages=[{"role": "user", "content": QUESTION}]
    )
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
    tuned = client.chat.completions.create(
        model="community-ops-kb",
        messages=[{"role": "user", "content": QUESTION}],
        n=2,
        stop=["\n"],
        seed=7,
        max_completion_tokens=5,
        tools=[tool],  # type: ignore[list-item]
        tool_choice="auto",
        response_format={"type": "json_object"},
        extra_headers={"X-Request-ID": "feedback-me-42"},
    )
    assert len(tuned.choices) == 1
    assert tuned.choices[0].message.content == plain.choices[0].message.content
    # a client's own request id is the completion's
    assert tuned.id == "chatcmpl-feedback-me-42" and _extra(tuned, "request_id") == "feedback-me-42"


def test_errors_are_openai_exceptions(client: openai.OpenAI, base: str) -> None:
    wrong = openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as auth:
        wrong.chat.completions.create(
            model="community-ops-kb", messages=[{"role": "user", "content": QUESTION}]
        )
    assert auth.value.code == "unauthorized" and auth.value.type == "authentication_error"
    with pytest.raises(openai.NotFoundError) as model:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    assert model.value.code == "model_not_found"
    assert model.value.body["message"].startswith("model: no model 'gpt-4o'; models: community-ops-kb")
    cases: list[tuple[list[Any], str, str]] = [
        ([], "community-ops-kb", "messages: List should have at least 1 item"),
        ([{"role": "system", "content": "hi"}], "community-ops-kb", "messages: no user message to answer"),
        (
            [{"role": "user", "content": "   "}],
            "community-ops-kb",
            "messages.0.content: question: must contain some text",
        ),
        ([{"role": "user", "content": "群" * 600}], "community-ops-kb-ask", "messages.0.content: question:"),
        ([{"role": "robot", "content": "hi"}], "community-ops-kb", "messages.0.role"),
    ]
    for messages, name, says in cases:
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model=name, messages=messages)
        assert bad.value.code == "invalid_input" and bad.value.type == "invalid_request_error"
        assert bad.value.body["message"].startswith(says), bad.value.body


def test_the_error_shape_is_openais_on_these_routes_only(base: str) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    resp = httpx.post(
        f"{base}/v1/chat/completions",
        content=b"{not json",
        headers={**auth, "content-type": "application/json"},
    )
    assert resp.status_code == 400
    assert set(resp.json()) == {"error"} and set(resp.json()["error"]) == {"message", "type", "code", "param"}
    assert resp.json()["error"]["code"] == "bad_request"
    unauthorized = httpx.get(f"{base}/v1/models")
    assert unauthorized.status_code == 401 and unauthorized.json()["error"]["type"] == "authentication_error"
    big = httpx.post(f"{base}/v1/chat/completions", content=b"{" + b" " * 70_000 + b"}", headers=auth)
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    ours = httpx.post(f"{base}/ask", json={"question": ""}, headers=auth)
    assert ours.status_code == 422 and set(ours.json()["error"]) == {"code", "message"}


def test_the_openapi_document_describes_the_chat_routes(base: str) -> None:
    doc = httpx.get(f"{base}/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()
    responses = doc["paths"]["/v1/chat/completions"]["post"]["responses"]
    # OpenAI's 400 for invalid input (where our routes answer 422), each error in OpenAI's shape
    assert sorted(responses) == ["200", "400", "401", "404", "413", "415", "500", "503"]
    assert set(responses["200"]["content"]) == {"application/json", "text/event-stream"}
    shapes = {r["content"]["application/json"]["schema"]["$ref"] for c, r in responses.items() if c != "200"}
    assert shapes == {"#/components/schemas/OpenAIError"}
    assert doc["components"]["schemas"]["ChatCompletionRequest"]["properties"]["model"]["enum"] == MODELS
    assert "422" in doc["paths"]["/ask"]["post"]["responses"]  # ours keep ours
