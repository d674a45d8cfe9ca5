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
