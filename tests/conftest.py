"""Shared fixtures: the real default model, the real corpus and the real index, loaded once; a fake
embedder for plumbing tests; the real app on a socket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.corpus import Corpus, load_corpus
from service.devserver import free_port, wait_healthy
from service.embedder import Vectors
from service.index import is_fresh
from service.kb import KnowledgeBase, build
from service.settings import Settings


class FakeEmbedder:
    """Deterministic unit vectors from a hash of the text (llm's EmbedDemo idea), for plumbing tests."""

    name = "fake-embedder"
    dimension = 16

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after

    def encode(self, texts: list[str]) -> Vectors:
        if self.fail_after is not None and len(texts) > self.fail_after:
            raise RuntimeError("simulated crash during a build")
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8) for t in texts]
        vecs = np.array(rows, dtype=np.float32) - 127.5
        return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="session")
def fake_embedder() -> type[FakeEmbedder]:
    """The class, so that a test can ask for a failing one: fake_embedder(fail_after=5)."""
    return FakeEmbedder


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def corpus(settings: Settings) -> Corpus:
    return load_corpus(settings.corpus_dir)


@pytest.fixture(scope="session")
def kb(settings: Settings) -> KnowledgeBase:
    if not is_fresh(settings.index_dir, settings.corpus_dir, settings.model):
        build(settings)  # `make test` builds first; this covers a bare `pytest`
    return KnowledgeBase.load(settings)


@pytest.fixture(scope="session")
def client(settings: Settings, kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(settings, kb)) as c:
        yield c


@pytest.fixture(scope="session")
def server_url(settings: Settings, kb: KnowledgeBase) -> Iterator[str]:
    """The real app on a real socket (uvicorn in a thread), for HTTP clients that are not TestClient."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, kb), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, thread.is_alive, timeout=30)
    yield url
    server.should_exit = True
    thread.join(timeout=10)
