"""Curating on a live server (issue 28) and removing any article (issue 23), in process: drafts apart
from the published corpus, the edge's validation, limits, messages and the publish jobs (their builds in a
child process on the fake embedder). The crash and starvation cases run against a real `kb serve`:
tests/test_curation_server.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import FAKE_WORKER
from fastapi.testclient import TestClient
from samples import ARTICLE, ARTICLE_2

from service.api import create_app
from service.build.pipeline import build
from service.cli_render import printable
from service.corpus import load_corpus
from service.curation.jobs import Publisher
from service.curation.locks import corpus_lock
from service.curation.store import (
    DraftPaths,
    Limits,
    accept_draft,
    add_article,
    list_drafts,
    migrate_drafts,
    read_article_file,
    remove_article,
)
from service.errors import DraftInvalidError, DraftLimitError, InputError, TooLargeError
from service.kb import KnowledgeBase
from service.settings import Settings

AUTH = {"Authorization": "Bearer k"}
SHIPPED = "004_8290fcecfd6f0502.txt"


def _links_to_004(root: Path) -> int:
    """How many `related`/`fixed_by` entries of the other articles name one of 004's principles."""
    n = 0
    for path in (root / "principles").glob("*.yaml"):
        if path.name != "004.yaml":
            for p in yaml.safe_load(path.read_text(encoding="utf-8"))["principles"]:
                n += sum(1 for k in ("related", "fixed_by") for i in p.get(k) or [] if i.startswith("p004-"))
    return n


def _wait_job(client: TestClient, job: dict[str, Any]) -> dict[str, Any]:
    for _ in range(600):  # a bound on a hang, not a timing: the fake build takes a second or two
        state: dict[str, Any] = client.get(f"/admin/jobs/{job['id']}", headers=AUTH).json()
        if state["state"] in ("done", "failed", "interrupted"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"job never ended: {state}")


@pytest.fixture
def live(home: Settings, fake_embedder: type) -> Iterator[tuple[TestClient, KnowledgeBase]]:
    """The app on a one-article corpus, its publish jobs building on the fake embedder."""
    fake = fake_embedder()
    build(home, fake)
    kb = KnowledgeBase.load(home, fake)
    with TestClient(create_app(home, kb)) as client:
        client.app.state.publisher = Publisher(kb, command=FAKE_WORKER)  # type: ignore[attr-defined]
        yield client, kb


@pytest.fixture
def full(tmp_path: Path, settings: Settings) -> Settings:
    """A copy of the whole shipped corpus, built on the fake embedder."""
    shutil.copytree(settings.corpus_dir, tmp_path / "corpus", ignore=shutil.ignore_patterns(".kb-write.*"))
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data",
                    api_keys=["k"], model="fake-embedder")  # fmt: skip


# -- 1, 2: a pending draft never blocks reload or restart and is never served ------------------------


def test_a_pending_draft_is_never_served_and_never_blocks_a_reload(
    live: tuple[TestClient, KnowledgeBase], home: Settings, fake_embedder: type
) -> None:
    client, _ = live
    r = client.post("/admin/articles", json={"filename": "cold-start.txt", "text": ARTICLE}, headers=AUTH)
    assert r.status_code == 201, r.text
    article, doc = r.json()["article"], r.json()["doc"]
    assert client.post("/admin/reload", headers=AUTH).status_code == 200  # was 503 index_stale
    KnowledgeBase.load(home, fake_embedder())  # a restart loads the same index
    build(home, fake_embedder())  # and a build with the draft pending leaves it out
    assert client.post("/admin/reload", headers=AUTH).status_code == 200
    docs = [d["doc"] for d in client.get("/documents", headers=AUTH).json()["documents"]]
    assert doc not in docs and docs == ["000_8a13e7523ba96b1d.txt"]
    assert client.get(f"/documents/{doc}", headers=AUTH).status_code in (404, 422)
    assert client.get(f"/documents/{doc}/view", headers=AUTH).status_code in (404, 422)
    listed = client.get("/admin/drafts", headers=AUTH).json()["drafts"]
    assert [(d["article"], d["status"]) for d in listed] == [(article, "pending")]


def test_an_old_draft_layout_is_moved_on_first_use(home: Settings) -> None:
    root = home.corpus_dir
    summary = add_article(root, ARTICLE.encode(), "cold-start.txt")
    paths = DraftPaths(root, summary.article)
    # the first layout: corpus/drafts/<stem>.yaml, its mark beside it, the text in corpus/raw
    (root / "drafts" / f"{paths.stem}.yaml").write_bytes(paths.draft.read_bytes())
    (root / "drafts" / f".{paths.stem}.sha256").write_bytes(paths.guard.read_bytes())
    paths.raw.write_bytes(paths.text.read_bytes())
    shutil.rmtree(paths.dir)
    assert [d.article for d in list_drafts(root).drafts] == [paths.stem]
    assert paths.exists() and paths.text.read_bytes() == ARTICLE.encode() and not paths.raw.exists()
    assert not list((root / "drafts").glob("*.yaml")) and migrate_drafts(root) == []


# -- 3 and issue 23: removing any article leaves a buildable corpus ---------------------------------


def test_remove_add_accept_remove_round_trips_on_a_shipped_article(
    full: Settings, fake_embedder: type
) -> None:
    fake = fake_embedder()
    root = full.corpus_dir
    original = (root / "raw" / SHIPPED).read_bytes()
    links = _links_to_004(root)
    build(full, fake)
    report = remove_article(root, "004")
    assert set(report.removed) == {f"raw/{SHIPPED}", "principles/004.yaml"}
    assert len(report.links) == links >= 10 and all("-> p004-" in x for x in report.links)
    assert report.phrasings and all(x.startswith("phrasings/003_004.yaml: p004-") for x in report.phrasings)
    assert report.labelled and report.labelled[0].startswith("calibration/labelled.jsonl")
    corpus = load_corpus(root)  # buildable: no link, phrasing or label names 004
    assert not [p for p in corpus.principles if p.source.doc == SHIPPED or p.id.startswith("p004")]
    assert SHIPPED not in (root / "calibration" / "labelled.jsonl").read_text(encoding="utf-8")
    build(full, fake)
    summary = add_article(root, original, "004.txt")  # the same file: the same name again
    assert summary.doc.startswith("004_") and summary.principles > 0  # its number again
    accept_draft(root, summary.article)
    build(full, fake)
    again = remove_article(root, "004")
    assert f"raw/{summary.doc}" in again.removed and not again.links  # the draft links nowhere
    build(full, fake)


def test_remove_refuses_what_it_cannot_mend_before_changing_anything(full: Settings) -> None:
    root = full.corpus_dir
    path = root / "principles" / "000.yaml"
    # a link in block style: not the one-line form `kb remove` edits
    text = path.read_text(encoding="utf-8").replace(
        "related: [p001-bigger-not-better, p004-scale-black-hole]",
        "related:\n      - p001-bigger-not-better\n      - p004-scale-black-hole",
    )
    path.write_text(text, encoding="utf-8")
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(Exception, match=r"principles/000.yaml links to \['p004-scale-black-hole'\]"):
        remove_article(root, "004")
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert {k: v for k, v in after.items() if not k.name.startswith(".kb-write")} == {
        k: v for k, v in before.items() if not k.name.startswith(".kb-write")
    }


def test_delete_an_article_through_the_api_is_a_job(full: Settings, fake_embedder: type) -> None:
    fake = fake_embedder()
    links = _links_to_004(full.corpus_dir)
    build(full, fake)
    kb = KnowledgeBase.load(full, fake)
    with TestClient(create_app(full, kb)) as client:
        client.app.state.publisher = Publisher(kb, command=FAKE_WORKER)  # type: ignore[attr-defined]
        r = client.delete("/admin/articles/004", headers=AUTH)
        assert r.status_code == 202, r.text
        job = _wait_job(client, r.json())
        assert job["state"] == "done", job
        assert len(job["removed"]["links"]) == links
        docs = [d["doc"] for d in client.get("/documents", headers=AUTH).json()["documents"]]
        assert SHIPPED not in docs and len(docs) == 4  # reloaded
        assert client.delete("/admin/articles/004", headers=AUTH).status_code == 404


# -- 4: no request waits for the lock --------------------------------------------------------------


def test_uploads_and_edits_refuse_at_once_while_a_build_holds_the_corpus(
    live: tuple[TestClient, KnowledgeBase], home: Settings
) -> None:
    client, _ = live
    article = add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt").article
    pid = client.get(f"/admin/drafts/{article}", headers=AUTH).json()["principles"][0]["id"]
    held, release = threading.Event(), threading.Event()

    def build_running() -> None:  # another thread, as the CLI's `kb build` would be another process
        with corpus_lock(home.corpus_dir, what="`kb build`"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=build_running)
    holder.start()
    try:
        assert held.wait(10)
        body = {"filename": "renewals.txt", "text": ARTICLE_2}
        refusals = [
            client.post("/admin/articles", json=body, headers=AUTH),
            client.patch(
                f"/admin/drafts/{article}/principles/{pid}", json={"title": "新的标题"}, headers=AUTH
            ),
        ]
        assert not release.is_set()  # answered while the build still holds the corpus
        for r in refusals:
            assert r.status_code == 409 and r.headers["retry-after"] == "5", r.text
            message = r.json()["error"]["message"]
            assert "`kb build` (process" in message and "Retry in 5 s" in message
            assert str(home.corpus_dir) not in message  # no server path
        assert client.get("/health").status_code == 200
    finally:
        release.set()
        holder.join()


# -- 5: curated text fields are checked like queries ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "标题\x1b]0;pwned\x07"),
        ("title", "标题\u202e反转"),
        ("title", "\u200b\u200b\u200b"),
        ("title", "   "),
        ("summary", "这是一段足够长的摘要\x00内容内容"),
        ("summary", "这是一段足够长的摘要\u2066内容内容"),
        ("summary", "\u200d" * 12),
        ("summary", "这是一段足够长的摘要\x9b2J内容内容"),
    ],
)
def test_edits_refuse_control_bidi_and_blank_text(
    live: tuple[TestClient, KnowledgeBase], home: Settings, field: str, value: str
) -> None:
    client, _ = live
    article = add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt").article
    paths = DraftPaths(home.corpus_dir, article)
    before = paths.draft.read_bytes()
    pid = client.get(f"/admin/drafts/{article}", headers=AUTH).json()["principles"][0]["id"]
    r = client.patch(f"/admin/drafts/{article}/principles/{pid}", json={field: value}, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith(f"{field}:"), r.text
    assert paths.draft.read_bytes() == before


@pytest.mark.parametrize("title", ["标题\x1b[2J", "\u202e标题", "\u200b", "两行\n标题"])
def test_uploads_refuse_control_bidi_and_blank_titles(
    live: tuple[TestClient, KnowledgeBase], home: Settings, title: str
) -> None:
    client, _ = live
    body = {"filename": "cold-start.txt", "text": ARTICLE, "title": title}
    r = client.post("/admin/articles", json=body, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("title:"), r.text
    with pytest.raises(InputError, match=r"^title:"):  # the CLI's path too
        add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt", title=title)
    assert not (home.corpus_dir / "drafts").exists()


def test_the_cli_escapes_control_characters_whatever_their_source(home: Settings) -> None:
    assert printable("a\x1b[2Jb\u202ec\x9bd\te\nf") == "a\\x1b[2Jb\\u202ec\\x9bd\te\nf"
    article = home.corpus_dir.parent / "bidi.txt"
    article.write_text("\u202e反转的标题\n" + ARTICLE, encoding="utf-8")  # an article's first line
    out = _kb(home, "add", str(article))
    assert out.returncode == 0, out.stderr
    assert "\u202e" not in out.stdout and "\\u202e反转的标题" in out.stdout


def _kb(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_INDEX_DIR": str(settings.index_dir),
           "KB_DATA_DIR": str(settings.data_dir)}  # fmt: skip
    code = "from service.cli import main; main()"
    # a bound on a hang (before the fix, /dev/zero was read forever), not a timing
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


# -- 8, 9: drafts listed from summaries; limits ------------------------------------------------------


def test_drafts_are_listed_from_their_summaries(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    root = home.corpus_dir
    article = add_article(root, ARTICLE.encode(), "cold-start.txt").article
    first = list_drafts(root).drafts
    parsed: list[Path] = []
    import service.curation.store as store

    real = store.read_draft
    monkeypatch.setattr(store, "read_draft", lambda paths: parsed.append(paths.draft) or real(paths))
    assert list_drafts(root).drafts == first and parsed == []  # no draft parsed to list it
    paths = DraftPaths(root, article)
    data = yaml.safe_load(paths.draft.read_text(encoding="utf-8"))
    for p in data["principles"]:
        p.pop("generated", None)
    paths.draft.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")  # by hand
    again = list_drafts(root).drafts[0]
    assert (again.open_items, again.edited) == (0, True) and parsed == [paths.draft]


def test_limits_on_drafts_principles_and_size(home: Settings) -> None:
    root = home.corpus_dir
    with pytest.raises(TooLargeError, match="over the limit of 2 "):
        add_article(root, ARTICLE.encode(), "a.txt", limits=Limits(max_principles=2))
    with pytest.raises(TooLargeError, match="over the limit of 300 bytes"):
        add_article(root, ARTICLE.encode(), "a.txt", limits=Limits(max_article_bytes=300))
    add_article(root, ARTICLE.encode(), "a.txt", limits=Limits(max_drafts=1))
    with pytest.raises(DraftLimitError, match="KB_MAX_DRAFTS"):
        add_article(root, ARTICLE_2.encode(), "b.txt", limits=Limits(max_drafts=1))


def test_the_upload_body_limit_follows_the_article_limit(home: Settings, fake_embedder: type) -> None:
    fake = fake_embedder()
    build(home, fake)
    kb = KnowledgeBase.load(home, fake)
    # about 33,000 Chinese characters: 100 KB of UTF-8, over the global 64 KiB body limit
    long_text = (ARTICLE + "\n") * (100_000 // len(ARTICLE.encode()) + 1)
    with TestClient(create_app(home, kb)) as client:
        body = {"filename": "long.txt", "text": long_text}
        r = client.post("/admin/articles", json=body, headers=AUTH)
        assert r.status_code not in (413,), r.text  # was 413 at 64 KiB (a duplicate of nothing: 201)
        huge = {"filename": "huge.txt", "text": "社群" * 700_000}
        r = client.post("/admin/articles", json=huge, headers=AUTH)
        assert r.status_code == 413 and "KB_MAX_ARTICLE_BYTES" in r.json()["error"]["message"]
        assert client.post("/search", content=b"x" * 70_000, headers={"content-type": "application/json"}
                           ).status_code == 413  # fmt: skip


# -- 10, 11: a broken draft is named with a 4xx; messages --------------------------------------------


def _edited(text: str, change: Any) -> str:
    data = yaml.safe_load(text)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (lambda t: t.replace("principles:", "principles: [", 1), "not valid YAML at line"),
        (lambda t: "just a string\n", "no `principles:` list"),
        (lambda t: _edited(t, lambda d: d["principles"][0].update(generated=["oops"])), "`generated`"),
        (lambda t: _edited(t, lambda d: d["principles"].insert(0, 42)), "principles[0] is not a mapping"),
    ],
)
def test_a_broken_draft_is_a_4xx_naming_the_problem(
    live: tuple[TestClient, KnowledgeBase], home: Settings, breakage: Any, says: str
) -> None:
    client, _ = live
    article = add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt").article
    paths = DraftPaths(home.corpus_dir, article)
    pid = client.get(f"/admin/drafts/{article}", headers=AUTH).json()["principles"][0]["id"]
    paths.draft.write_text(breakage(paths.draft.read_text(encoding="utf-8")), encoding="utf-8")
    before = paths.draft.read_bytes()
    got = client.get(f"/admin/drafts/{article}", headers=AUTH)
    edit = client.patch(f"/admin/drafts/{article}/principles/{pid}", json={"title": "新的标题"}, headers=AUTH)
    for r in (got, edit):
        assert r.status_code == 422 and r.json()["error"]["code"] == "draft_invalid", r.text
        assert says in r.json()["error"]["message"] and str(home.corpus_dir) not in r.text
    assert paths.draft.read_bytes() == before  # not saved, and said so
    listed = client.get("/admin/drafts", headers=AUTH).json()["drafts"]
    assert says in listed[0]["problem"]


def test_a_malformed_generated_field_is_refused_before_saving(
    live: tuple[TestClient, KnowledgeBase], home: Settings
) -> None:
    client, _ = live
    article = add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt").article
    paths = DraftPaths(home.corpus_dir, article)
    data = yaml.safe_load(paths.draft.read_text(encoding="utf-8"))
    data["principles"][1]["generated"]["type"] = "not a mapping"
    data["principles"][1]["generated"]["extra"] = {"nested": [1, 2]}
    paths.draft.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = paths.draft.read_bytes()
    pid = data["principles"][0]["id"]
    r = client.patch(f"/admin/drafts/{article}/principles/{pid}", json={"title": "新的标题"}, headers=AUTH)
    if r.status_code == 200:  # the drafted fields tolerate it: then it is saved and says so
        assert "新的标题" in paths.draft.read_text(encoding="utf-8")
    else:
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("not saved:"), r.text
        assert paths.draft.read_bytes() == before


def test_corpus_yaml_errors_name_relative_paths(full: Settings) -> None:
    path = full.corpus_dir / "principles" / "002.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("principles:", "principles: [", 1), encoding="utf-8"
    )
    with pytest.raises(Exception, match=r"^principles/002.yaml: cannot read YAML at line \d+") as err:
        load_corpus(full.corpus_dir)
    assert str(full.corpus_dir) not in str(err.value)


def test_the_cli_says_article_not_principle(home: Settings) -> None:
    out = _kb(home, "accept", "no-such-article")
    assert out.returncode == 2 and "找不到这篇文章" in out.stderr and "原则" not in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1


# -- 12: kb add reads only what it may ---------------------------------------------------------------


def test_kb_add_refuses_what_is_not_a_regular_file_before_reading(home: Settings, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # no writer: opening it would block forever
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(400_000_000)  # sparse: nothing to read in memory, 400 MB by its size
    for path, says in [(fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                       (tmp_path, "a folder"), (big, "over the limit")]:  # fmt: skip
        out = _kb(home, "add", str(path))
        assert out.returncode == 2 and says in out.stderr and out.stderr.count("\n") == 1, out.stderr
    with pytest.raises(TooLargeError):
        read_article_file(big, 200_000)


# -- 14 and the jobs: one job per draft, an honest record ------------------------------------------


def test_a_second_accept_of_the_same_draft_is_a_409(
    live: tuple[TestClient, KnowledgeBase], home: Settings
) -> None:
    client, _ = live
    article = add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt").article
    first = client.post(f"/admin/drafts/{article}/accept", headers=AUTH)
    second = client.post(f"/admin/drafts/{article}/accept", headers=AUTH)  # the first is queued or running
    assert first.status_code == 202 and second.status_code == 409, second.text
    message = second.json()["error"]["message"]
    assert first.json()["id"] in message and "cannot help" in message and "retry-after" not in second.headers
    edit = client.patch(f"/admin/drafts/{article}/principles/x", json={"title": "新的标题"}, headers=AUTH)
    assert edit.status_code in (404, 409)  # publishing (409) or already published (no draft)
    done = _wait_job(client, first.json())
    assert done["state"] == "done" and done["index"]["principles"] > 20
    record = json.loads((home.data_dir / "jobs" / f"{done['id']}.json").read_text(encoding="utf-8"))
    assert record["state"] == "done"  # persisted: any serving process reads it


def test_a_failed_job_is_logged_undone_and_retried(
    live: tuple[TestClient, KnowledgeBase], home: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = live
    root = home.corpus_dir
    article = add_article(root, ARTICLE.encode(), "cold-start.txt").article
    paths = DraftPaths(root, article)
    paths.text.write_text(ARTICLE_2, encoding="utf-8")  # the draft's quotes are not in it
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    job = _wait_job(client, client.post(f"/admin/drafts/{article}/accept", headers=AUTH).json())
    assert job["state"] == "failed" and "nothing was changed" in job["message"], job
    for _ in range(100):  # the server's thread logs, then drops the draft's publishing mark
        if not paths.publishing.exists():
            break
        time.sleep(0.1)
    assert any(job["id"] in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.name.startswith(".kb-write")}
    assert after == {p: b for p, b in before.items() if not p.name.startswith(".kb-write")}
    paths.text.write_bytes(ARTICLE.encode())  # fixed: retry
    again = client.post(f"/admin/jobs/{job['id']}/retry", headers=AUTH)
    assert again.status_code == 202 and again.json()["retry_of"] == job["id"]
    assert _wait_job(client, again.json())["state"] == "done"
    assert client.post(f"/admin/jobs/{again.json()['id']}/retry", headers=AUTH).status_code == 409


def test_a_job_whose_process_died_is_reported_interrupted_and_undone(
    live: tuple[TestClient, KnowledgeBase], home: Settings, tmp_path: Path
) -> None:
    client, kb = live
    root = home.corpus_dir
    article = add_article(root, ARTICLE.encode(), "cold-start.txt").article
    # a child that publishes, then dies by SIGKILL in the middle of its build
    killer = tmp_path / "killed_worker.py"
    killer.write_text(
        "import os, signal, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from fakes import FakeEmbedder\n"
        "class Dying(FakeEmbedder):\n"
        "    def encode(self, texts):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "from service.curation.worker import main\n"
        "sys.exit(main(embedder=Dying()))\n",
        encoding="utf-8",
    )
    client.app.state.publisher = Publisher(kb, command=[sys.executable, str(killer)])  # type: ignore[attr-defined]
    job = _wait_job(client, client.post(f"/admin/drafts/{article}/accept", headers=AUTH).json())
    assert job["state"] == "interrupted" and "put back" in job["message"], job
    assert DraftPaths(root, article).exists() and not DraftPaths(root, article).raw.exists()
    assert client.post("/admin/reload", headers=AUTH).status_code == 200  # the index serves the corpus


def test_limits_and_a_broken_draft_in_the_store(home: Settings) -> None:
    root = home.corpus_dir
    article = add_article(root, ARTICLE.encode(), "cold-start.txt").article
    paths = DraftPaths(root, article)
    paths.draft.write_text("principles: [\n", encoding="utf-8")
    with pytest.raises(DraftInvalidError, match=rf"drafts/{article}/draft.yaml: not valid YAML at line"):
        accept_draft(root, article)
