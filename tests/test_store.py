"""The query log on a real database, SQLite and PostgreSQL (tests/pg.py): migrations, the background
writer, pruning, failures at start, and the events the core records for every edge."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from service.errors import StoreError
from service.kb import KnowledgeBase
from service.models import AskRequest, DiagnoseRequest, SearchBatchRequest, SearchRequest
from service.settings import Settings
from service.store.context import CallContext
from service.store.db import current_revision, head_revision, make_engine, upgrade
from service.store.events import EventRecord, HitRecord
from service.store.models import LogFilter
from service.store.querylog import QueryLog, open_query_log
from service.store.schema import Event, EventHit, Feedback

TABLES = {"alembic_version", "events", "event_hits", "feedback", "gaps"}


@pytest.fixture
def query_log(db_url: str) -> QueryLog:
    engine = make_engine(db_url)
    upgrade(engine)
    log = QueryLog(engine)
    yield log
    log.close()


@pytest.fixture
def recording(kb: KnowledgeBase, query_log: QueryLog, monkeypatch: pytest.MonkeyPatch) -> KnowledgeBase:
    """The session's KnowledgeBase recording into this test's database."""
    monkeypatch.setattr(kb, "query_log", query_log)
    return kb


def _record(at: datetime, rid: str, hits: tuple[HitRecord, ...] = ()) -> EventRecord:
    return EventRecord(
        rid,
        at,
        "ask",
        "http",
        "ops",
        "问题",
        "问题",
        False,
        "not_covered",
        0.1,
        3.0,
        "c" * 64,
        "2026-12-04T00:00:00Z",
        hits,
    )


def test_migrations_create_the_schema_and_go_back_down(db_url: str) -> None:
    from alembic import command

    from service.store.db import _alembic_config

    engine = make_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision() == "0001"
    assert set(inspect(engine).get_table_names()) == TABLES
    assert upgrade(engine) == "0001"  # applying again is a no-op
    with engine.connect() as conn:
        command.downgrade(_alembic_config(conn), "base")
        conn.commit()
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_the_sqlite_file_is_created_owner_only(tmp_path: Path) -> None:
    log = open_query_log(Settings(data_dir=tmp_path / "data"))
    assert log is not None
    log.close()
    path = tmp_path / "data" / "kb.sqlite3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_off_opens_nothing(tmp_path: Path) -> None:
    assert open_query_log(Settings(data_dir=tmp_path, query_log=False)) is None
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_sqlite_file_is_a_clear_error_at_start(tmp_path: Path) -> None:
    (tmp_path / "kb.sqlite3").write_bytes(b"this is not a database, " * 100)
    with pytest.raises(StoreError, match=r"kb.sqlite3 is not a readable SQLite database .*move it away"):
        open_query_log(Settings(data_dir=tmp_path))


def test_a_locked_sqlite_file_is_a_clear_error_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.store.db._BUSY_MS", 50)
    path = tmp_path / "kb.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    try:
        with pytest.raises(StoreError, match=r"kb.sqlite3 is locked by another process"):
            open_query_log(Settings(data_dir=tmp_path))
    finally:
        holder.close()


def test_an_unreachable_postgresql_is_a_clear_error_at_start(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://kb@/kb?host={tmp_path}"  # no server has a socket there
    with pytest.raises(StoreError, match=r"the query log database .* cannot be used"):
        open_query_log(Settings(database_url=url))


def test_each_operation_records_one_event(recording: KnowledgeBase, query_log: QueryLog) -> None:
    ctx = CallContext("http", "ops", "req-search-1")
    resp = recording.search(SearchRequest(query="社群定位", k=3), ctx=ctx)
    asked = recording.ask(AskRequest(question="直播带货的坑位费一般多少?"), ctx=CallContext("mcp", "bot"))
    diagnosed = recording.diagnose(DiagnoseRequest(situation="群里全是广告,没人说话"))
    assert resp.request_id == "req-search-1"
    assert query_log.writer.flush()
    ev = query_log.event("req-search-1")
    assert (ev.operation, ev.surface, ev.key_name, ev.text) == ("search", "http", "ops", "社群定位")
    assert [(h.principle_id, h.rank, h.score) for h in ev.hits] == [
        (h.id, h.rank, h.score) for h in resp.hits
    ]
    assert ev.confidence == resp.confidence and ev.answered == resp.answered
    assert ev.index_corpus == recording.index.manifest.corpus_sha256
    assert ev.index_built_at == recording.index.manifest.built_at
    refused = query_log.event(asked.request_id or "")
    assert (refused.surface, refused.key_name, refused.answered, refused.coverage) == (
        "mcp",
        "bot",
        False,
        "not_covered",
    )
    # a call from Python in this process: an id of its own, recorded as the CLI's
    assert query_log.event(diagnosed.request_id or "").surface == "cli"
    assert query_log.writer.written == 3 and query_log.dropped == 0


def test_a_batch_records_each_query_under_its_own_id(recording: KnowledgeBase, query_log: QueryLog) -> None:
    out = recording.search_batch(
        SearchBatchRequest(queries=["社群定位", "群规"], k=2), ctx=CallContext("http")
    )
    ids = [r.request_id for r in out.results]
    assert len(set(ids)) == 2
    assert [query_log.event(i or "").text for i in ids] == ["社群定位", "群规"]


def test_warm_up_is_not_recorded(recording: KnowledgeBase, query_log: QueryLog) -> None:
    recording.warm_up()
    assert query_log.writer.flush()
    assert query_log.events(LogFilter(), 10) == []


def test_an_unreachable_database_drops_events_and_never_fails_a_query(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the database went away after start: every write fails
    log = QueryLog(make_engine(f"postgresql+psycopg://kb@/kb?host={tmp_path}"))
    monkeypatch.setattr(kb, "query_log", log)
    try:
        for q in ("社群定位", "群规", "社群运营"):
            assert kb.search(SearchRequest(query=q, k=2)).hits
        assert log.writer.flush()
        assert (log.dropped, log.writer.written) == (3, 0)
    finally:
        log.close()


def test_a_full_queue_drops_instead_of_waiting(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.store.db._BUSY_MS", 2000)
    path = tmp_path / "kb.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # the writer's first batch waits on this lock
    log = QueryLog(engine, queue_size=2)
    monkeypatch.setattr(kb, "query_log", log)
    try:
        for _ in range(8):
            kb.search(SearchRequest(query="社群定位", k=1))
        # the writer holds at most one batch and the queue two more: the others were dropped at once
        assert log.dropped >= 5
    finally:
        holder.close()
        log.close()


def test_retention_prunes_old_events_with_their_hits_and_feedback(query_log: QueryLog) -> None:
    from service.store.events import prune, to_row

    now = datetime.now(UTC)
    hit = (HitRecord("p000-blind-start", 1, 1.0, 0.5),)
    with query_log.sessions.begin() as s:
        s.add_all([to_row(_record(now - timedelta(days=100), "old", hit)), to_row(_record(now, "new", hit))])
        s.add(Feedback(request_id="old", at=now - timedelta(days=100), rating="down", principle_ids=[]))
    with query_log.sessions.begin() as s:
        assert prune(s, 90) == 1
    with query_log.sessions() as s:
        assert list(s.scalars(select(Event.request_id))) == ["new"]
        assert len(list(s.scalars(select(EventHit)))) == 1
        assert list(s.scalars(select(Feedback))) == []
