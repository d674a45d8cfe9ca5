"""Hostile input, API keys, metrics, live reload and concurrent load against the real app."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.devserver import start_kb_serve
from service.kb import KnowledgeBase
from service.settings import Settings


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"content": "社群".encode(), "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ({"content": b"{}", "headers": {}}, 415, "unsupported_media_type"),
        (
            {
                "content": b'{"query": "' + b"a" * 70000 + b'"}',
                "headers": {"content-type": "application/json"},
            },
            413,
            "too_large",
        ),
        (
            {"content": b'{"query": "\xff\xfe"}', "headers": {"content-type": "application/json"}},
            400,
            "bad_request",
        ),
        ({"content": b"[1, 2]", "headers": {"content-type": "application/json"}}, 422, "invalid_input"),
        ({"json": {"query": "社群\u0007"}}, 422, "invalid_input"),
        ({"json": {"query": "\u200b\u200c\u200d\u2060"}}, 422, "invalid_input"),  # zero-width only
        ({"json": {"query": "\ufeff"}}, 422, "invalid_input"),  # a BOM alone
        ({"json": {"query": " \ufeff\u200b "}}, 422, "invalid_input"),
        ({"json": {"query": "社群", "types": ["pitfall"] * 10000}}, 413, "too_large"),
        ({"json": {"query": "社群", "k": "5"}}, 422, "invalid_input"),
        ({"json": {"query": "社群", "types": ["pitfall"] * 21}}, 422, "invalid_input"),
        ({"json": {"query": "社群", "k": "many"}}, 422, "invalid_input"),
        ({"json": {"query": ["社群"]}}, 422, "invalid_input"),
    ],
)
def test_hostile_bodies_get_a_clean_4xx(client: TestClient, kwargs: dict, status: int, code: str) -> None:  # type: ignore[type-arg]
    r = client.post("/search", **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


@pytest.fixture(scope="module")
def keyed(settings: Settings, kb: KnowledgeBase):  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings.model_copy(update={"api_keys": ["k1", "k2"]}), kb)) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("get", "/health", {}, 200),
        ("get", "/types", {}, 401),
        ("get", "/types", {"Authorization": "Bearer nope"}, 401),
        ("get", "/types", {"Authorization": "Bearer k2"}, 200),
        ("get", "/metrics", {}, 401),
        ("post", "/admin/reload", {}, 401),
        ("post", "/admin/reload", {"Authorization": "Bearer k1"}, 200),
    ],
)
def test_api_keys(keyed: TestClient, method: str, path: str, headers: dict, status: int) -> None:  # type: ignore[type-arg]
    r = keyed.request(method, path, headers={**headers, "content-type": "application/json"})
    assert r.status_code == status
    if status == 401:
        assert r.json()["error"]["code"] == "unauthorized"


def test_admin_is_closed_without_keys(client: TestClient) -> None:
    r = client.post("/admin/reload", headers={"content-type": "application/json"})
    assert r.status_code == 403 and "KB_API_KEYS" in r.json()["error"]["message"]


@pytest.fixture()
def own_index(tmp_path: Path, settings: Settings) -> Settings:
    target = tmp_path / "index"
    shutil.copytree(settings.index_dir, target, symlinks=True)
    return settings.model_copy(update={"index_dir": target})


def test_reload_under_load_never_fails_a_request(own_index: Settings, kb: KnowledgeBase) -> None:
    local = KnowledgeBase(own_index, kb.index, kb.encoder.embedder.inner)
    with TestClient(create_app(own_index.model_copy(update={"api_keys": ["k"]}), local)) as c:
        auth = {"Authorization": "Bearer k"}
        stop = threading.Event()
        statuses: list[int] = []

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(c.post("/search", json={"query": "门槛", "k": 3}, headers=auth).status_code)

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for w in workers:
            w.start()
        for _ in range(5):
            assert (
                c.post("/admin/reload", headers={**auth, "content-type": "application/json"}).status_code
                == 200
            )
        stop.set()
        for w in workers:
            w.join()
        assert statuses and set(statuses) == {200}


def test_failed_reload_keeps_the_old_index(own_index: Settings, kb: KnowledgeBase) -> None:
    local = KnowledgeBase(own_index, kb.index, kb.encoder.embedder.inner)
    before = local.health().index
    victim = (own_index.index_dir / "current" / "records.json").resolve()
    victim.write_text("{}", encoding="utf-8")
    with TestClient(create_app(own_index.model_copy(update={"api_keys": ["k"]}), local)) as c:
        r = c.post("/admin/reload", headers={"Authorization": "Bearer k", "content-type": "application/json"})
        assert r.status_code == 503 and "records.json" in r.json()["error"]["message"]
        assert c.get("/health").json()["index"] == before.model_dump()
        assert (
            c.post("/search", json={"query": "门槛"}, headers={"Authorization": "Bearer k"}).status_code
            == 200
        )


def test_serve_refuses_a_tampered_index(own_index: Settings) -> None:
    (own_index.index_dir / "current" / "vectors.faiss").resolve().write_bytes(b"garbage")
    env = {**os.environ, "KB_INDEX_DIR": str(own_index.index_dir), "KB_PORT": "9"}
    proc = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "serve"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: 索引缺失或损坏(index file") and "vectors.faiss" in proc.stderr
    assert "run `kb build`" in proc.stderr and "Traceback" not in proc.stderr


def test_hundreds_of_mixed_concurrent_requests(server_url: str) -> None:
    good = [
        ("/search", {"query": "入群门槛", "k": 5}),
        ("/ask", {"question": "社群定位分哪几步?"}),
        ("/diagnose", {"situation": "群里全是广告,老板还要我每周建十个新群"}),
        ("/ask", {"question": "明天会下雨吗?"}),
    ]
    bad = [
        ("/search", {"query": ""}),
        ("/search", {"query": "群", "k": 500}),
        ("/ask", {"nope": 1}),
        ("/diagnose", {"situation": "x" * 5000}),
    ]
    jobs = [(p, b, True) for p, b in good] * 40 + [(p, b, False) for p, b in bad] * 20

    def send(job: tuple[str, dict, bool]) -> tuple[bool, int]:  # type: ignore[type-arg]
        path, body, ok = job
        for _ in range(30):
            r = httpx.post(server_url + path, json=body, timeout=60)
            if r.status_code != 503:
                break
            # at capacity (admission control): retry after Retry-After, as a client should
            assert r.json()["error"]["code"] == "overloaded"
            time.sleep(float(r.headers["retry-after"]) * random.uniform(0.5, 1))
        return ok, r.status_code

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, jobs))
    assert len(results) == 240
    assert {code for ok, code in results if ok} == {200}
    assert {code for ok, code in results if not ok} == {422}


def test_sighup_reloads_a_running_server(tmp_path: Path) -> None:
    import signal

    log = (tmp_path / "serve.log").open("w")
    proc, url, _ = start_kb_serve(output=log)
    try:
        proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 20
        while "reloaded index" not in (tmp_path / "serve.log").read_text():
            assert time.time() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        assert proc.poll() is None
        assert httpx.post(url + "/search", json={"query": "门槛"}, timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
