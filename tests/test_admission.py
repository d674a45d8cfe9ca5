"""Admission control: at most KB_MAX_INFLIGHT expensive requests at work and KB_MAX_QUEUED waiting; any
more are refused at once with 503 `overloaded` and Retry-After. Held requests are gated by events, not
timed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.api.admission import Admission, Overloaded
from service.kb import KnowledgeBase
from service.models import SearchRequest, SearchResponse
from service.settings import Settings

MCP_HOST = {"host": "127.0.0.1:8000"}
MCP_CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {**MCP_HOST, "accept": "application/json, text/event-stream"}


class Gated:
    """The app's KnowledgeBase with a search that waits for `release`."""

    def __init__(self, settings: Settings, kb: KnowledgeBase) -> None:
        self.kb = KnowledgeBase(settings, kb.index, kb.encoder.embedder.inner)
        self.release = threading.Event()
        real = self.kb.search

        def search(req: SearchRequest, *args: Any) -> SearchResponse:
            assert self.release.wait(60)
            return real(req, *args)

        self.kb.search = search  # type: ignore[method-assign]


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30  # a bound on a hang, not a performance assertion
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture()
def gated(settings: Settings, kb: KnowledgeBase) -> Iterator[tuple[TestClient, Gated]]:
    limits = settings.model_copy(update={"max_inflight": 1, "max_queued": 1, "retry_after_seconds": 2})
    gate = Gated(limits, kb)
    with TestClient(create_app(limits, gate.kb)) as c:
        yield c, gate
        gate.release.set()


def test_beyond_the_queue_a_costly_request_is_refused_at_once(gated: tuple[TestClient, Gated]) -> None:
    client, gate = gated
    admission = client.app.state.admission  # type: ignore[attr-defined]
    with ThreadPoolExecutor(2) as pool:
        held: list[Future[httpx.Response]] = []
        for n in (1, 2):  # one at work, one waiting
            held.append(pool.submit(client.post, "/search", json={"query": "入群门槛", "k": 2}))
            _until(lambda n=n: admission.admitted == n)  # type: ignore[misc]
        refused = client.post("/search", json={"query": "入群门槛"})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
        assert refused.json()["error"]["code"] == "overloaded"
        assert "(2 requests at work or waiting)" in refused.json()["error"]["message"]
        # the other costly routes share the same slots
        assert client.post("/ask", json={"question": "社群定位分哪几步?"}).status_code == 503
        assert client.post("/diagnose", json={"situation": "群里全是广告"}).status_code == 503
        call = {"name": "list_types", "arguments": {}}
        assert client.post("/tools/call", json=call).status_code == 503
        mcp = client.post("/mcp", json=MCP_CALL, headers=MCP_HEADERS)
        assert mcp.status_code == 503 and mcp.json()["error"]["code"] == "overloaded"
        # the platforms' routes too, each refusal in that platform's error shape
        setting = {"top_k": 2, "score_threshold": 0.0}
        dify = client.post(
            "/dify/retrieval", json={"knowledge_id": "all", "query": "入群门槛", "retrieval_setting": setting}
        )
        assert (
            dify.status_code == 503
            and dify.headers["retry-after"] == "2"
            and dify.json()["error_code"] == 503
        )
        turn = {"model": "community-ops-kb", "messages": [{"role": "user", "content": "社群定位分哪几步?"}]}
        completion = client.post("/v1/chat/completions", json=turn)
        assert completion.status_code == 503 and completion.json()["error"]["code"] == "overloaded"
        assert completion.json()["error"]["type"] == "server_error"
        assert client.get("/v1/models").status_code == 200
        # cheap routes are never held back
        assert client.get("/health").status_code == 200
        assert client.get("/tools").status_code == 200
        assert client.get("/principles/p001-aidass-model").status_code == 200
        # bad requests are still told what is wrong, not that the server is busy
        assert client.post("/search", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
        gate.release.set()
        assert [f.result().status_code for f in held] == [200, 200]
    assert admission.admitted == 0
    assert client.post("/search", json={"query": "入群门槛"}).status_code == 200


def test_a_request_that_would_wait_too_long_is_refused_at_once() -> None:
    async def run() -> None:
        admission = Admission(running=1, queued=10, wait_budget=0.01)
        async with admission.slot():
            await asyncio.sleep(0.3)  # it learns that a request holds its slot for a while
        assert admission.expected_wait() == 0  # nothing at work: the next starts at once
        gate = asyncio.Event()

        async def hold() -> None:
            async with admission.slot():
                await gate.wait()

        task = asyncio.create_task(hold())
        while admission.admitted < 1:
            await asyncio.sleep(0)
        # room in the queue, but the wait behind the one at work would exceed the budget
        assert admission.expected_wait() > 0.01
        with pytest.raises(Overloaded):
            async with admission.slot():
                pass
        gate.set()
        await task
        async with admission.slot():  # idle again: admitted whatever it learnt
            pass

    asyncio.run(run())


def test_the_overload_status_is_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "at capacity" in doc["paths"]["/search"]["post"]["responses"]["503"]["description"]


def test_a_long_situation_encodes_a_bounded_number_of_clauses(kb: KnowledgeBase) -> None:
    # issue 15.4: each clause of a situation is encoded; 2000 characters could mean 200 encodes
    situation = "，".join(f"群里第{i}个问题是没人说话" for i in range(150))[:2000]
    query = kb.encoder.query(situation, min_clauses=1)
    assert len(query.clauses) == kb.settings.max_clauses == 16
    assert query.clauses[0].text == "群里第0个问题是没人说话"
