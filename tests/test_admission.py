"""Admission control (service/api/admission.py): the Gradient2 limit and the deadline on the queue,
driven by a fake clock (no timing), a simulated two-core server under closed loops of clients, and the
app's refusals on a real request path, held requests gated by events, not timed."""

from __future__ import annotations

import heapq
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from conftest import serving
from fastapi.testclient import TestClient

from service.api import create_app
from service.api.admission import Admission, FixedLimit, GradientLimit, Ticket
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

        def search(req: SearchRequest, *args: Any, **kwargs: Any) -> SearchResponse:
            assert self.release.wait(60)
            return real(req, *args, **kwargs)

        self.kb.search = search  # type: ignore[method-assign]


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30  # a bound on a hang, not a performance assertion
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture()
def gated(settings: Settings, kb: KnowledgeBase) -> Iterator[tuple[TestClient, Gated]]:
    fixed = {"max_inflight": 1, "max_queued": 1, "retry_after_seconds": 2}
    limits = settings.model_copy(update=fixed)
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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _feed(limit: GradientLimit, clock: Clock, rtt: Callable[[int], float], n: int) -> list[int]:
    """`n` requests, 5 ms apart, each spending `rtt(limit at its start)` at work: the limit after each."""
    seen = []
    for _ in range(n):
        started, at = clock.now, limit.value()
        clock.now += 0.005
        limit.update(rtt(at), started)
        seen.append(limit.value())
    return seen


def test_min_rtt_is_measured_first_with_the_limit_pinned_at_its_minimum() -> None:
    clock = Clock()
    limit = GradientLimit(clock=clock, jitter=lambda: 0.0)
    seen = _feed(limit, clock, lambda _: 0.02, 49)
    assert set(seen) == {3} and limit.measuring
    _feed(limit, clock, lambda _: 0.02, 1)  # the 50th sample ends the window: minRTT is their median
    assert not limit.measuring and limit.min_rtt == 0.02 and limit.value() == 3


def test_the_limit_grows_while_latency_stays_at_min_rtt_and_stops_at_the_maximum() -> None:
    clock = Clock()
    limit = GradientLimit(clock=clock, jitter=lambda: 0.0, max_limit=32)
    seen = _feed(limit, clock, lambda _: 0.02, 1000)
    assert seen[50:] == sorted(seen[50:])  # only grows: every sample window is at minRTT
    assert seen[-1] == 32


def test_the_limit_settles_where_more_concurrency_only_adds_latency() -> None:
    # a CPU-bound server with two cores: past two at work, each extra request slows every request
    def rtt(at_work: int) -> float:
        return 0.01 * max(1.0, at_work / 2)

    clock = Clock()
    limit = GradientLimit(clock=clock, jitter=lambda: 0.0, max_limit=32)
    seen = _feed(limit, clock, rtt, 20_000)  # 100 s: three minRTT windows
    # minRTT at 3 at work is 15 ms; the limit where 1.25 * 15 ms / rtt(L) * L + sqrt(...) = L
    assert max(seen[1000:]) <= 8 and min(seen[1000:]) >= 3


def test_requests_that_began_before_a_min_rtt_window_are_not_sampled() -> None:
    clock = Clock()
    limit = GradientLimit(clock=clock, jitter=lambda: 0.0, min_rtt_requests=1)
    limit.update(5.0, started=-1.0)  # began before the limiter's first window
    assert limit.measuring and limit.min_rtt == 0
    limit.update(0.02, started=clock.now)
    assert not limit.measuring and limit.min_rtt == 0.02


def test_min_rtt_is_measured_again_after_its_interval_and_when_the_limit_sits_at_its_minimum() -> None:
    clock = Clock()
    limit = GradientLimit(clock=clock, jitter=lambda: 0.0, min_rtt_interval=30)
    _feed(limit, clock, lambda _: 0.02, 50)
    clock.now += 30
    assert limit.value() == 3 and limit.measuring  # the interval is over: a new window, limit pinned
    _feed(limit, clock, lambda _: 0.02, 50)
    assert not limit.measuring
    # latency doubles (the machine got slower): the gradient holds the limit at the minimum
    for _ in range(5):
        clock.now += 0.1
        limit.update(0.1, clock.now - 0.1)
        assert not limit.measuring
    clock.now += 0.1
    limit.update(0.1, clock.now - 0.1)  # the 5th window in a row at the minimum
    assert limit.value() == 3 and limit.measuring


def test_a_request_waits_while_its_expected_wait_is_within_the_deadline() -> None:
    clock = Clock()
    admission = Admission(FixedLimit(2), deadline=0.1, clock=clock)
    assert admission.expected_wait() == 0  # nothing at work: the next starts at once
    first, second = admission.enter(), admission.enter()
    assert first is not None and second is not None and first.started == second.started == 0
    clock.now += 0.02
    admission.leave(first)  # 20 ms at work beside one other: a completion every 10 ms
    third = admission.enter()
    assert third is not None and third.started == clock.now  # a slot was free
    waiting: list[Ticket] = []
    # each waiting request adds 10 ms to the next one's wait
    while (t := admission.enter()) is not None:
        assert t.started is None
        waiting.append(t)
    assert len(waiting) == 10  # the 11th would wait 110 ms > 100 ms
    assert admission.refused == 1 and admission.waiting == 10
    assert admission.expected_wait() == pytest.approx(0.11)


def test_one_stall_of_the_process_does_not_refuse_a_loop_it_keeps_up_with() -> None:
    clock = Clock()
    admission = Admission(FixedLimit(4), deadline=0.2, clock=clock)
    at_work: deque[Ticket] = deque()

    def step(seconds: float) -> None:
        """The oldest of the four at work finishes after `seconds`; a client's next request starts."""
        while len(at_work) < 4:
            t = admission.enter()
            assert t is not None
            at_work.append(t)
        clock.now += seconds
        admission.leave(at_work.popleft())

    for _ in range(40):
        step(0.005)  # a completion every 5 ms, each request 20 ms at work
    step(0.1)  # this process descheduled for 100 ms: the four at work each took 100 ms longer
    for _ in range(3):
        step(0.005)
    assert admission.interval() == pytest.approx(0.005)  # what the server keeps up with, not the stall
    waiting = [admission.enter() for _ in range(12)]  # 16 clients: the last waits 65 ms
    assert all(t is not None for t in waiting) and admission.refused == 0


def test_waiting_requests_start_in_order_as_slots_free_and_one_that_gives_up_leaves_the_queue() -> None:
    clock = Clock()
    admission = Admission(FixedLimit(1), deadline=10, clock=clock)
    first, second, third = (admission.enter() for _ in range(3))
    assert first is not None and second is not None and third is not None
    started: list[str] = []
    second.on_grant = lambda: started.append("second")
    third.on_grant = lambda: started.append("third")
    admission.leave(second)  # gives up while waiting: never started, nothing learnt
    assert admission.waiting == 1 and admission.limit.value() == 1
    clock.now += 0.05
    admission.leave(first)
    assert started == ["third"] and third.started == clock.now and admission.running == 1


def test_the_queue_has_a_hard_cap() -> None:
    admission = Admission(FixedLimit(1), deadline=1e9, max_queued=3, clock=Clock())
    tickets = [admission.enter() for _ in range(5)]
    assert [t is not None for t in tickets] == [True, True, True, True, False]


def _closed_loop(clients: int, seconds: float = 30.0, cores: int = 2, work: float = 0.01) -> dict[str, Any]:
    """A discrete-event simulation of this machine: requests of `work` CPU seconds shared fairly by
    `cores` (processor sharing), `clients` that each send their next request as soon as they have an
    answer, and retry a refusal after 10 ms (ignoring Retry-After). Returns the admitted requests'
    latencies, the refusals and the limit over time."""
    clock = Clock()
    admission = Admission(GradientLimit(clock=clock, jitter=lambda: 0.0), deadline=0.2, clock=clock)
    remaining: dict[int, float] = {}  # client -> CPU seconds its running request still needs
    tickets: dict[int, Ticket] = {}
    retries: list[tuple[float, int]] = [(0.0, c) for c in range(clients)]
    latencies: list[float] = []
    limits: list[int] = []
    granted: list[int] = []

    def send(c: int) -> None:
        t = admission.enter()
        if t is None:
            heapq.heappush(retries, (clock.now + 0.01, c))
            return
        tickets[c] = t
        t.on_grant = lambda: granted.append(c)
        if t.started is not None:
            remaining[c] = work

    while clock.now < seconds:
        rate = min(1.0, cores / len(remaining)) if remaining else 0.0
        done_in = min(remaining.values()) / rate if remaining else float("inf")
        retry_at = retries[0][0] if retries else float("inf")
        step = min(done_in, retry_at - clock.now)
        for c in remaining:
            remaining[c] -= step * rate
        clock.now += step
        if step == done_in:
            c = min(remaining, key=remaining.__getitem__)
            del remaining[c]
            t = tickets.pop(c)
            admission.leave(t)
            latencies.append(clock.now - t.arrived)
            limits.append(admission.limit.value())
            for g in granted:
                remaining[g] = work
            granted.clear()
            send(c)
        else:
            send(heapq.heappop(retries)[1])
    return {"latencies": latencies, "refused": admission.refused, "limits": limits}


def test_sixteen_clients_are_all_served() -> None:
    # 16 clients on a server answering 200/s: each waits about 80 ms, within the 200 ms deadline
    run = _closed_loop(16)
    assert run["refused"] == 0
    assert len(run["latencies"]) > 5000  # the cores were kept busy: 2 / 10 ms = 200 per second


def test_two_hundred_and_fifty_six_clients_are_served_within_the_deadline_and_the_rest_refused() -> None:
    run = _closed_loop(256)
    assert run["refused"] > 0
    later = sorted(run["latencies"][500:])  # once it has learnt
    # wait within the 200 ms deadline plus the time at work under the limit
    assert later[int(0.99 * len(later))] < 0.3
    assert len(run["latencies"]) > 5000  # refusals did not cost the admitted their throughput
    assert max(run["limits"][500:]) < 16


def test_a_refusal_comes_before_the_body_is_read(settings: Settings, kb: KnowledgeBase) -> None:
    # on a real socket: the head promises a body that never comes, and the 503 arrives anyway
    limits = settings.model_copy(update={"max_inflight": 1, "max_queued": 0})
    gate = Gated(limits, kb)
    app = create_app(limits, gate.kb)
    with serving(app, limits) as url, ThreadPoolExecutor(1) as pool:
        held = pool.submit(httpx.post, url + "/search", json={"query": "入群门槛"}, timeout=60)
        _until(lambda: app.state.admission.admitted == 1)
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.settimeout(30)  # a bound on a hang, not a timing
            sock.sendall(
                b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n"
            )
            answer = b""
            while b'"overloaded"' not in answer and (chunk := sock.recv(65536)):
                answer += chunk  # the head and the body may come in two writes
        assert answer.startswith(b"HTTP/1.1 503 ") and b'"overloaded"' in answer
        gate.release.set()
        assert held.result().status_code == 200


def test_the_overload_status_is_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "at capacity" in doc["paths"]["/search"]["post"]["responses"]["503"]["description"]


def test_a_long_situation_encodes_a_bounded_number_of_clauses(kb: KnowledgeBase) -> None:
    # issue 15.4: each clause of a situation is encoded; 2000 characters could mean 200 encodes
    situation = "，".join(f"群里第{i}个问题是没人说话" for i in range(150))[:2000]
    query = kb.encoder.query(situation, min_clauses=1)
    assert len(query.clauses) == kb.settings.max_clauses == 16
    assert query.clauses[0].text == "群里第0个问题是没人说话"
