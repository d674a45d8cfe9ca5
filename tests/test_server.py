"""`kb serve`'s connection limits (service/api/server.py) on a real socket: idle and half-sent connections are
closed after KB_KEEP_ALIVE_SECONDS, an MCP event stream ends after KB_STREAM_SECONDS, slow clients
cannot hold a connection forever; and its BLAS runs on one thread."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from service.api import create_app
from service.api.server import (
    IdleLimitedH11,
    IdleLimitedHttpTools,
    http_protocol,
    uvicorn_config,
    uvicorn_options,
)
from service.devserver import free_port, wait_healthy
from service.kb import KnowledgeBase
from service.settings import Settings


def test_kb_serve_parses_http_with_httptools() -> None:
    # the C parser: a refusal under overload costs little more than parsing its head
    assert http_protocol() is IdleLimitedHttpTools
    assert uvicorn_options(Settings())["http"] is IdleLimitedHttpTools


# both of uvicorn's HTTP protocols keep the idle limit: httptools (what `kb serve` uses) and h11
@pytest.fixture(scope="module", params=[IdleLimitedHttpTools, IdleLimitedH11], ids=["httptools", "h11"])
def limited(
    request: pytest.FixtureRequest, settings: Settings, kb: KnowledgeBase
) -> Iterator[tuple[str, int]]:
    limits = settings.model_copy(update={"keep_alive_seconds": 0.5, "stream_seconds": 0.5})
    port = free_port()
    config = uvicorn_config(create_app(limits, kb), limits, "127.0.0.1", port)
    config.http = request.param
    config.log_level = "warning"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_healthy(f"http://127.0.0.1:{port}", thread.is_alive, timeout=30)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection; False when it still holds it after 20 s."""
    sock.settimeout(20)  # a bound on a hang: the server's limit is 0.5 s
    try:
        while chunk := sock.recv(65536):
            del chunk  # a response (to a whole request) before the close
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # half a request head, then silence
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # one request answered, then idle on keep-alive
    ],
)
def test_an_idle_connection_is_closed(limited: tuple[str, int], sent: bytes) -> None:
    # issue 15.7: a connection that never sent a request was never timed out
    with socket.create_connection(limited) as sock:
        sock.sendall(sent)
        assert _closed_by_server(sock)


def test_an_mcp_event_stream_ends(limited: tuple[str, int]) -> None:
    host, port = limited
    headers = {"accept": "text/event-stream", "host": f"127.0.0.1:{port}"}
    seen: list[httpx.Response] = []
    ended = threading.Event()

    def read() -> None:
        with httpx.stream("GET", f"http://{host}:{port}/mcp", headers=headers, timeout=60) as r:
            seen.append(r)
            r.read()  # returns once the server ends the stream
            ended.set()

    threading.Thread(target=read, daemon=True).start()
    assert ended.wait(30)  # a bound on a hang: the server's limit is 0.5 s
    assert seen[0].status_code == 200 and seen[0].headers["content-type"].startswith("text/event-stream")


def test_requests_are_answered_under_the_limits(limited: tuple[str, int]) -> None:
    host, port = limited
    r = httpx.post(f"http://{host}:{port}/diagnose", json={"situation": "群里全是广告，没人说话"}, timeout=30)
    assert r.status_code == 200


def test_kb_serve_runs_blas_on_one_thread() -> None:
    # in a fresh process, as `kb serve` does it once the index (numpy, faiss) is loaded
    code = (
        "import faiss, numpy, threadpoolctl\n"
        "from service.api.server import single_threaded_blas\n"
        "before = [i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n"
        "single_threaded_blas()\n"
        "after = [i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n"
        "print(max(before), after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after = out.split(" ", 1)
    assert int(before) == (os.cpu_count() or 1) > 1  # what OpenBLAS takes on its own
    assert after.strip() not in ("", "[]") and set(json.loads(after)) == {1}
