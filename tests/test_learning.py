"""Feedback, the curators' views and their actions, over HTTP and the CLI, on both databases: the real
app, the real index and model, a real SQLite file and a real PostgreSQL (tests/pg.py)."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from service import cli
from service.api import create_app
from service.confidence import load_calibration
from service.corpus import load_corpus
from service.kb import KnowledgeBase
from service.settings import Settings
from service.store.db import make_engine, upgrade
from service.store.querylog import QueryLog
from service.store.schema import Event

KEYS = ["ops:secret1", "bot:secret2", "barekey"]
OPS = {"Authorization": "Bearer secret1"}
BOT = {"Authorization": "Bearer secret2"}
BARE = {"Authorization": "Bearer barekey"}


@pytest.fixture
def query_log(db_url: str) -> Iterator[QueryLog]:
    engine = make_engine(db_url)
    upgrade(engine)
    log = QueryLog(engine)
    yield log
    log.close()


@pytest.fixture
def corpus_copy(tmp_path: Path, settings: Settings) -> Path:
    """The actions write the corpus: a copy of it, never the real one."""
    dst = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, dst)
    return dst


@pytest.fixture
def api(
    kb: KnowledgeBase,
    query_log: QueryLog,
    corpus_copy: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    monkeypatch.setattr(kb, "query_log", query_log)
    monkeypatch.setattr(kb, "settings", kb.settings.model_copy(update={"corpus_dir": corpus_copy}))
    with TestClient(create_app(settings.model_copy(update={"api_keys": KEYS}), kb)) as c:
        yield c


def _ask(api: TestClient, question: str, headers: dict[str, str] = OPS) -> str:
    r = api.post("/ask", json={"question": question}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["request_id"] == r.headers["x-request-id"]
    return str(r.json()["request_id"])


def test_every_response_carries_its_request_id_and_records_the_key_name(
    api: TestClient, query_log: QueryLog
) -> None:
    mine = api.post("/search", json={"query": "社群定位"}, headers={**OPS, "X-Request-ID": "my-id-1"})
    assert mine.json()["request_id"] == mine.headers["x-request-id"] == "my-id-1"
    diag = api.post("/diagnose", json={"situation": "群里全是广告,没人说话"}, headers=BOT)
    assert diag.json()["request_id"] == diag.headers["x-request-id"]
    tool = api.post(
        "/tools/call", json={"name": "ask", "arguments": {"question": "群规怎么定?"}}, headers=BARE
    )
    assert tool.json()["result"]["request_id"] == tool.headers["x-request-id"]
    assert query_log.writer.flush()
    seen = {e.request_id: (e.operation, e.surface, e.key_name) for e in query_log.events(_flt(), 10)}
    bare_name = seen[tool.headers["x-request-id"]][2]
    assert seen == {
        "my-id-1": ("search", "http", "ops"),
        diag.headers["x-request-id"]: ("diagnose", "http", "bot"),
        tool.headers["x-request-id"]: ("ask", "tools", bare_name),
    }
    # a bare key is named by a short hash of it, never by the key
    assert bare_name is not None and bare_name.startswith("key-") and "barekey" not in bare_name
    exported = api.get("/admin/log/export", headers=OPS).text
    assert "secret" not in exported and "barekey" not in exported and "Bearer" not in exported


def _flt() -> object:
    from service.store.models import LogFilter

    return LogFilter()


def test_feedback_is_stored_and_rating_again_updates(api: TestClient, query_log: QueryLog) -> None:
    rid = _ask(api, "社群定位分哪几步?")
    first = api.post("/feedback", json={"request_id": rid, "rating": "up"}, headers=BOT)
    assert first.status_code == 200 and first.json()["updated"] is False
    again = {
        "request_id": rid,
        "rating": "down",
        "reason": "incomplete",
        "principle_ids": ["p001-positioning-5w1h"],
        "comment": "少了第三步",
    }
    second = api.post("/feedback", json=again, headers=BOT)
    assert second.json() == {**again, "updated": True}
    ev = api.get(f"/admin/log/events/{rid}", headers=OPS).json()
    assert (ev["rating"], ev["reason"], ev["principle_ids"], ev["comment"]) == (
        "down",
        "incomplete",
        ["p001-positioning-5w1h"],
        "少了第三步",
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            {"request_id": "never-given", "rating": "up"},
            404,
            "no logged response has request id 'never-given'",
        ),
        ({"request_id": "RID", "rating": "meh"}, 422, "rating: Input should be 'up' or 'down'"),
        ({"request_id": "RID", "rating": "down", "reason": "bad"}, 422, "reason: Input should be"),
        (
            {"request_id": "RID", "rating": "down", "principle_ids": ["p-nope"]},
            422,
            "unknown principle id 'p-nope'",
        ),
        (
            {"request_id": "RID", "rating": "up", "comment": "长" * 1001},
            422,
            "comment: String should have at most",
        ),
    ],
)
def test_bad_feedback_is_a_clear_4xx(
    api: TestClient, body: dict[str, object], status: int, message: str
) -> None:
    rid = _ask(api, "群公告怎么写?")
    r = api.post("/feedback", json={k: rid if v == "RID" else v for k, v in body.items()}, headers=OPS)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]["message"]


def test_curator_views_need_an_admin_key(api: TestClient, kb: KnowledgeBase, settings: Settings) -> None:
    assert api.get("/admin/log/misses").status_code == 401
    assert api.get("/admin/log/misses", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with TestClient(create_app(settings, kb)) as open_api:  # no keys: admin routes are closed
        assert open_api.get("/admin/log/misses").status_code == 403


def test_misses_are_clustered_by_meaning_newest_first(api: TestClient) -> None:
    asked = [
        "直播带货的坑位费一般多少?",
        "直播带货坑位费怎么收?",
        "膝盖半月板损伤还能打篮球吗?",
        "直播带货的坑位费一般多少?",
        "社群定位分哪几步?",
    ]
    for q in asked:
        _ask(api, q)
    r = api.get("/admin/log/misses", headers=OPS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["events"] == 4  # the answered question is not a miss
    assert [(c["count"], c["texts"]) for c in body["clusters"]] == [
        (3, ["直播带货的坑位费一般多少?", "直播带货坑位费怎么收?"]),
        (1, ["膝盖半月板损伤还能打篮球吗?"]),
    ]
    only_bot = api.get("/admin/log/misses", params={"key_name": "bot"}, headers=OPS).json()
    assert only_bot == {"events": 0, "clusters": []}
    assert (
        api.get("/admin/log/misses", params={"operation": "ask", "surface": "http"}, headers=OPS).json()
        == body
    )
    later = api.get("/admin/log/misses", params={"since": "2999-01-01T00:00:00Z"}, headers=OPS).json()
    assert later["events"] == 0
    bad = api.get("/admin/log/misses", params={"surface": "fax"}, headers=OPS)
    assert bad.status_code == 422


def test_disliked_and_hits_per_principle(api: TestClient, kb: KnowledgeBase) -> None:
    q = "社群定位分哪几步?"
    rids = [_ask(api, q) for _ in range(3)]
    lead = api.get(f"/admin/log/events/{rids[0]}", headers=OPS).json()["hits"][0]["principle_id"]
    api.post(
        "/feedback",
        json={"request_id": rids[0], "rating": "down", "principle_ids": ["p001-positioning-5w1h"]},
        headers=OPS,
    )
    api.post("/feedback", json={"request_id": rids[1], "rating": "down"}, headers=OPS)
    api.post("/feedback", json={"request_id": rids[2], "rating": "up"}, headers=OPS)
    disliked = api.get("/admin/log/disliked", headers=OPS).json()["principles"]
    assert disliked == [
        {
            "principle_id": lead,
            "title": kb.get(lead).title,
            "downs": 2,
            "ups": 1,
            "questions": [q],
            "wanted": {"p001-positioning-5w1h": 1},
        }
    ]
    hits = api.get("/admin/log/hits", params={"limit": 3}, headers=OPS).json()["principles"]
    assert hits[0]["hits"] == 3 and hits[0]["questions"] == [q] and len(hits) == 3
    assert {h["principle_id"]: h["first"] for h in hits}[lead] == 3


def test_export_jsonl_and_csv(api: TestClient) -> None:
    rid = _ask(api, "社群定位分哪几步?")
    api.post("/feedback", json={"request_id": rid, "rating": "up"}, headers=OPS)
    lines = api.get("/admin/log/export", headers=OPS)
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    [row] = [json.loads(line) for line in lines.text.splitlines()]
    assert (row["request_id"], row["rating"], row["key_name"], row["text"]) == (
        rid,
        "up",
        "ops",
        "社群定位分哪几步?",
    )
    table = api.get("/admin/log/export", params={"format": "csv"}, headers=OPS)
    assert table.headers["content-type"].startswith("text/csv")
    [rec] = list(csv.DictReader(io.StringIO(table.text)))
    assert (rec["request_id"], rec["rating"], rec["answered"]) == (rid, "up", "True")
    assert rec["hits"].split()[0] == f"{row['hits'][0]['principle_id']}@1"


def test_actions_write_the_corpus_and_record_gaps(
    api: TestClient, corpus_copy: Path, kb: KnowledgeBase
) -> None:
    missed = _ask(api, "群里的人都不说话是怎么回事")
    phrased = api.post(
        "/admin/log/phrasings", json={"request_id": missed, "principle_id": "p000-blind-start"}, headers=OPS
    )
    assert phrased.status_code == 200, phrased.text
    assert phrased.json() == {
        "file": "phrasings/log.yaml",
        "principle_id": "p000-blind-start",
        "text": "群里的人都不说话是怎么回事",
        "added": True,
    }
    again = api.post(
        "/admin/log/phrasings", json={"request_id": missed, "principle_id": "p000-blind-start"}, headers=OPS
    )
    assert again.json()["added"] is False
    # the build reads it: validated like every phrasing, marked with its source and date
    corpus = load_corpus(corpus_copy)
    assert (
        "群里的人都不说话是怎么回事"
        in next(p for p in corpus.principles if p.id == "p000-blind-start").phrasings
    )
    written = (corpus_copy / "phrasings" / "log.yaml").read_text(encoding="utf-8")
    assert f"source: query-log {missed}" in written and "by: ops" in written
    unknown = api.post(
        "/admin/log/phrasings", json={"request_id": missed, "principle_id": "p-nope"}, headers=OPS
    )
    assert unknown.status_code == 422

    out = _ask(api, "膝盖半月板损伤还能打篮球吗?")
    for scope in (True, False):  # labelling again replaces the label
        labelled = api.post("/admin/log/scope", json={"request_id": out, "in_scope": scope}, headers=OPS)
        assert labelled.status_code == 200, labelled.text
    examples = [e for e in load_calibration(corpus_copy) if e.id == f"log-{out}"]
    assert [(e.mode, e.text, e.in_scope) for e in examples] == [("ask", "膝盖半月板损伤还能打篮球吗?", False)]

    gap = api.post("/admin/log/gaps", json={"request_id": out, "note": "运动损伤"}, headers=OPS)
    assert gap.status_code == 201 and gap.json()["text"] == "膝盖半月板损伤还能打篮球吗?"
    assert [g["note"] for g in api.get("/admin/log/gaps", headers=OPS).json()["gaps"]] == ["运动损伤"]
    assert api.post("/admin/log/gaps", json={"request_id": "nope"}, headers=OPS).status_code == 404
    # nothing served changed: the index is rebuilt by a person, later
    assert kb.index.manifest.corpus_sha256 == api.get("/health").json()["index"]["corpus_sha256"]


def test_dropped_events_are_on_metrics(api: TestClient) -> None:
    text = api.get("/metrics", headers=OPS).text
    assert "kb_events_dropped_total 0.0" in text


def test_off_answers_503(kb: KnowledgeBase, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kb, "query_log", None)
    with TestClient(create_app(settings, kb)) as c:
        r = c.post("/feedback", json={"request_id": "x", "rating": "up"})
        assert r.status_code == 503 and "KB_QUERY_LOG=off" in r.json()["error"]["message"]


def test_cli_feedback_and_log(
    kb: KnowledgeBase, query_log: QueryLog, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb, "query_log", query_log)
    monkeypatch.setattr(kb, "settings", kb.settings.model_copy(update={"corpus_dir": corpus_copy}))
    # the CLI opens the query log itself: here, this test's; and reuses the session's index
    monkeypatch.setattr("service.cli._open_query_log", lambda settings, strict: None)
    monkeypatch.setattr("service.kb.KnowledgeBase.load", classmethod(lambda cls, settings, **kw: kb))
    runner = CliRunner()
    asked = runner.invoke(cli.app, ["ask", "直播带货的坑位费一般多少?", "--json"])
    rid = json.loads(asked.stdout)["request_id"]
    rated = runner.invoke(cli.app, ["feedback", rid, "down", "--reason", "not_covered", "--json"])
    assert rated.exit_code == 0, rated.output
    assert json.loads(rated.stdout)["reason"] == "not_covered"
    shown = runner.invoke(cli.app, ["ask", "社群定位分哪几步?"])  # a person reads the id on stderr
    said = shown.stderr.removeprefix("request id ")[:32]
    assert shown.stderr == f"request id {said}(评价这个回答: kb feedback {said} up 或 down)\n"
    assert query_log.event(said).text == "社群定位分哪几步?" and said not in shown.stdout
    bad = runner.invoke(cli.app, ["feedback", rid, "meh"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    unknown = runner.invoke(cli.app, ["feedback", "never-given", "up"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: 没有这个回答的记录")
    misses = runner.invoke(cli.app, ["log", "misses", "--json"])
    assert json.loads(misses.stdout)["clusters"][0]["request_ids"] == [rid]
    gap = runner.invoke(cli.app, ["log", "gap", rid, "--note", "直播"])
    assert gap.exit_code == 0 and "已记为缺口" in gap.stdout
    assert "直播带货" in runner.invoke(cli.app, ["log", "gaps"]).stdout
    assert runner.invoke(cli.app, ["log", "export", "--format", "csv"]).stdout.startswith("at,request_id")
    assert runner.invoke(cli.app, ["log", "misses", "--surface", "fax"]).exit_code == 2
    with query_log.sessions() as s:
        assert list(s.scalars(select(Event.surface))) == ["cli", "cli"]


def test_after_an_action_the_next_one_still_loads(kb: KnowledgeBase, corpus_copy: Path) -> None:
    """An action makes the corpus newer than the index; serving refuses that until a rebuild, the
    curators' commands do not (or their second action would wait for a build)."""
    from service.errors import IndexStaleError
    from service.store.actions import label_scope

    label_scope(corpus_copy, "ask", "膝盖半月板损伤还能打篮球吗?", False, "rid-1", "ops")
    own = kb.settings.model_copy(update={"corpus_dir": corpus_copy})
    with pytest.raises(IndexStaleError):
        KnowledgeBase.load(own, kb.encoder.embedder.inner)
    curator = KnowledgeBase.load(own, kb.encoder.embedder.inner, stale_ok=True)
    assert curator.index.manifest == kb.index.manifest


def test_give_feedback_over_tools_call(api: TestClient, query_log: QueryLog) -> None:
    asked = api.post(
        "/tools/call", json={"name": "ask", "arguments": {"question": "群规怎么定?"}}, headers=BOT
    )
    rid = asked.json()["result"]["request_id"]
    call = {
        "name": "give_feedback",
        "arguments": {"request_id": rid, "rating": "down", "reason": "incomplete"},
    }
    rated = api.post("/tools/call", json=call, headers=BOT)
    assert rated.status_code == 200, rated.text
    assert rated.json()["result"] == {"request_id": rid, "rating": "down", "reason": "incomplete",
                                      "principle_ids": [], "comment": None, "updated": False}  # fmt: skip
    listed = {t["function"]["name"]: t for t in api.get("/tools", headers=BOT).json()["tools"]}
    assert set(listed["give_feedback"]["function"]["parameters"]["properties"]) == {
        "request_id", "rating", "reason", "principle_ids", "comment"
    }  # fmt: skip
    assert query_log.event(rid).surface == "tools" and query_log.event(rid).rating == "down"


def test_mcp_calls_are_recorded_and_rated(
    kb: KnowledgeBase,
    query_log: QueryLog,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[FastAPI, Settings], AbstractContextManager[str]],
) -> None:
    import anyio
    import httpx
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    monkeypatch.setattr(kb, "query_log", query_log)
    keyed = settings.model_copy(update={"api_keys": KEYS})
    seen: dict[str, Any] = {}

    async def main(url: str) -> None:
        async with (
            httpx.AsyncClient(headers=BOT, timeout=60) as http,
            streamable_http_client(f"{url}/mcp", http_client=http) as streams,
            ClientSession(streams[0], streams[1]) as s,
        ):
            await s.initialize()
            tools = {t.name: t for t in (await s.list_tools()).tools}
            assert tools["give_feedback"].annotations.read_only_hint is False  # type: ignore[union-attr]
            answer = await s.call_tool("ask", {"question": "社群定位分哪几步?"})
            seen["rid"] = (answer.structured_content or {})["request_id"]
            rated = await s.call_tool("give_feedback", {"request_id": seen["rid"], "rating": "up"})
            seen["rated"] = rated.structured_content
            bad = await s.call_tool("give_feedback", {"request_id": "never-given", "rating": "up"})
            seen["bad"] = (bad.is_error, bad.content[0].text)  # type: ignore[union-attr]

    with serve(create_app(keyed, kb), keyed) as url:
        anyio.run(main, url)
    ev = query_log.event(seen["rid"])
    assert (ev.surface, ev.key_name, ev.operation, ev.rating) == ("mcp", "bot", "ask", "up")
    assert seen["rated"]["updated"] is False
    assert seen["bad"] == (True, "no logged response has request id 'never-given'")
