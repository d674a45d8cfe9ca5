"""Session fixtures: the real default model, the real corpus and the real index, loaded once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.index import is_fresh
from service.kb import KnowledgeBase, build
from service.settings import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


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
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, kb), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
