"""`kb serve --workers 2` for real (service/api/workers.py): two processes on one loopback port; the
metrics count what both served, a reload (the admin route or SIGHUP to the supervisor) reaches both,
MCP calls are answered by either. Waits are bounded loops on what the server reports, never timings."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from service.devserver import start_kb_serve

KEY = "workers-test-key"
ROOT = Path(__file__).resolve().parents[1]
MCP_CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: IO[str]) -> None:
        self.proc, self.url, self.log = proc, url, log
        self.auth = {"authorization": f"Bearer {KEY}"}

    def health(self) -> dict[str, str]:
        # a new connection each time: the kernel hands connections to whichever worker accepts first
        body: dict[str, str] = httpx.get(self.url + "/health", timeout=30).json()
        return body

    def workers(self, until: Callable[[dict[str, str]], bool] = lambda _: True) -> dict[str, str]:
        """worker pid -> loaded_at, once two workers were seen with `until` true of both (bounded)."""
        seen: dict[str, str] = {}
        for _ in range(2000):  # a bound on a hang, not a timing
            h = self.health()
            if until(h):
                seen[str(h["worker"])] = h["loaded_at"]
            if len(seen) == 2:
                return seen
            time.sleep(0.01)
        raise AssertionError(f"saw only {seen}")

    def access_log(self) -> list[dict[str, object]]:
        lines = Path(self.log.name).read_text(encoding="utf-8").splitlines()
        return [json.loads(line.split(" ", 2)[2]) for line in lines if line.startswith("INFO kb.access ")]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with tempfile.NamedTemporaryFile("w+", suffix=".log", encoding="utf-8") as log:
        proc, url, _ = start_kb_serve(
            {"KB_API_KEYS": KEY, "KB_WORKERS": "1"}, cwd=ROOT, output=log, args=["--workers", "2"]
        )
        try:
            yield Served(proc, url, log)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def test_two_workers_answer_and_the_metrics_count_both(served: Served) -> None:
    workers = served.workers()
    assert len(workers) == 2 and str(served.proc.pid) not in workers  # --workers wins over KB_WORKERS
    n = 60
    for i in range(n):  # new connections: both workers get some
        r = httpx.post(
            served.url + "/search", json={"query": f"入群门槛 {i}"}, headers=served.auth, timeout=30
        )
        assert r.status_code == 200

    def answered() -> Counter[int]:
        return Counter(e["worker"] for e in served.access_log() if e["route"] == "/search")

    # a worker writes its access line just after the answer: wait for the last ones (a bound on a
    # hang, not a timing assertion)
    deadline = time.monotonic() + 30
    while sum(answered().values()) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    by_worker = answered()
    assert sum(by_worker.values()) == n and len(by_worker) == 2, by_worker
    # whichever worker answers /metrics, the counter is the sum over both
    for _ in range(4):
        text = httpx.get(served.url + "/metrics", headers=served.auth, timeout=30).text
        assert f'kb_requests_total{{method="POST",route="/search",status="200"}} {n}.0' in text
        assert "kb_index_principles 168.0" in text
        assert 'kb_model_info{built_at="' in text


def test_every_worker_records_what_it_answers(served: Served) -> None:
    # each worker writes its own events into the query log the supervisor migrated
    ids = []
    for i in range(12):  # new connections: both workers answer some
        r = httpx.post(served.url + "/ask", json={"question": f"社群定位分哪几步 {i}"}, headers=served.auth)
        assert r.status_code == 200
        ids.append(r.json()["request_id"])
    deadline = time.monotonic() + 30  # the writer batches off the request path: a bound on a hang
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for rid in list(pending):
            got = httpx.get(f"{served.url}/admin/log/events/{rid}", headers=served.auth, timeout=30)
            if got.status_code == 200:
                assert got.json()["operation"] == "ask"
                pending.discard(rid)
        time.sleep(0.1)
    assert not pending
    workers = Counter(e["worker"] for e in served.access_log() if e["route"] == "/ask")
    assert len(workers) == 2, workers


def test_a_reload_through_one_worker_reaches_both(served: Served) -> None:
    before = served.workers()
    r = httpx.post(served.url + "/admin/reload", headers=served.auth, timeout=60)
    assert r.status_code == 200 and r.json()["principles"] == 168
    after = served.workers(until=lambda h: h["loaded_at"] != before.get(str(h["worker"])))
    assert after.keys() == before.keys()
    assert all(after[w] > before[w] for w in before)


def test_sighup_to_the_supervisor_reloads_every_worker(served: Served) -> None:
    before = served.workers()
    os.kill(served.proc.pid, signal.SIGHUP)
    after = served.workers(until=lambda h: h["loaded_at"] != before.get(str(h["worker"])))
    assert after.keys() == before.keys()  # reloaded in place, not replaced by new processes
    assert served.proc.poll() is None


def test_mcp_over_http_is_answered_by_either_worker(served: Served) -> None:
    headers = {**served.auth, "accept": "application/json, text/event-stream", "host": "127.0.0.1:8000"}
    answered: set[object] = set()
    for _ in range(500):  # a bound on a hang: until both workers have answered one
        r = httpx.post(served.url + "/mcp", json=MCP_CALL, headers=headers, timeout=30)
        assert r.status_code == 200 and "search_principles" in r.text
        answered = {e["worker"] for e in served.access_log() if e["route"] == "/mcp"}
        if len(answered) == 2:
            break
    # stateless: no session ties a client to the worker it first reached
    assert len(answered) == 2


def test_a_missing_index_is_one_error_line(tmp_path: Path) -> None:
    env = {**os.environ, "KB_INDEX_DIR": str(tmp_path)}
    cmd = ["-c", "from service.cli import main; main()", "serve", "--workers", "2", "--port", "1"]
    out = subprocess.run([sys.executable, *cmd], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1].startswith("error:") and "kb build" in out.stderr


def test_a_second_server_on_the_same_port_is_refused(served: Served) -> None:
    # the workers' sockets share the port (SO_REUSEPORT): another server must not quietly join them
    port = served.url.rsplit(":", 1)[1]
    cmd = ["-c", "from service.cli import main; main()", "serve", "--workers", "2", "--port", port]
    out = subprocess.run([sys.executable, *cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Address already in use" in out.stderr


def test_each_worker_socket_gets_tcp_nodelay_on_its_connections() -> None:
    # a socket made with proto 0 got no TCP_NODELAY from asyncio: every two-part response then waited
    # for the client's delayed ACK (c1 /ask p50 87 ms against 8 ms)
    from service.api.workers import _listen

    sockets = _listen("127.0.0.1", 0, 2)
    seen: list[int] = []

    async def run() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        servers = [await asyncio.start_server(accepted, sock=s) for s in sockets]
        port = sockets[0].getsockname()[1]
        assert {s.getsockname()[1] for s in sockets} == {port}  # one port, two sockets
        for _ in range(8):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            await asyncio.sleep(0)
            writer.close()
        while len(seen) < 8:
            await asyncio.sleep(0.01)
        for server in servers:
            server.close()

    try:
        asyncio.run(asyncio.wait_for(run(), 30))  # a bound on a hang, not a timing
    finally:
        for s in sockets:
            s.close()
    assert seen == [1] * 8


@pytest.mark.parametrize(
    ("args", "env"), [(["--workers", "0"], {}), (["--workers", "65"], {}), ([], {"KB_WORKERS": "many"})]
)
def test_a_bad_worker_count_is_one_error_line(args: list[str], env: dict[str, str]) -> None:
    cmd = [sys.executable, "-c", "from service.cli import main; main()", "serve", "--port", "1", *args]
    out = subprocess.run(cmd, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("error: KB_WORKERS: ") and len(out.stderr.strip().splitlines()) == 1
