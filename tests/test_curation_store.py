"""The curation path end to end as a curator uses it: kb add → edit → kb accept → search finds it →
kb remove, on a copy of the corpus with the fake embedder (plumbing; drafting itself is measured by
scripts/eval_ingest.py), plus input checks, duplicates and the HTTP routes."""

from __future__ import annotations

import time

import pytest
import yaml
from fakes import FAKE_WORKER
from fastapi.testclient import TestClient
from samples import ARTICLE

from service.api import create_app
from service.build.pipeline import build
from service.corpus import corpus_digest
from service.curation.jobs import Publisher
from service.curation.store import DraftPaths, add_article, check_draft, list_drafts, remove_article
from service.errors import DuplicateError, InputError
from service.index import is_fresh, read_manifest
from service.kb import KnowledgeBase
from service.models import SearchRequest
from service.settings import Settings


def test_add_edit_accept_search_remove(home: Settings, fake_embedder: type) -> None:
    fake = fake_embedder()
    before = build(home, fake)
    root = home.corpus_dir
    summary = add_article(root, ARTICLE.encode(), "cold-start.txt")
    paths = DraftPaths(root, summary.article)
    assert paths.text.read_bytes() == ARTICLE.encode()  # byte-identical
    assert not paths.raw.exists()  # apart from the published corpus until accepted
    assert corpus_digest(root) == before.corpus_sha256 and is_fresh(home.index_dir, root, home.model)
    assert summary.groups >= 1 and summary.principles >= 4
    draft_path = paths.draft
    draft = yaml.safe_load(draft_path.read_text(encoding="utf-8"))
    check_draft(root, draft, ARTICLE, "draft")  # a draft that fails the corpus checks is a bug
    assert all("confidence" in p["generated"]["type"] for p in draft["principles"])
    assert list_drafts(root).drafts[0].edited is False

    # a person edits the draft: re-adding the article keeps the edit
    edited = draft_path.read_text(encoding="utf-8").replace(
        draft["principles"][0]["title"], "种子用户群的冷启动复盘"
    )
    draft_path.write_text(edited, encoding="utf-8")
    again = add_article(root, ARTICLE.encode(), "cold-start.txt")
    assert again.kept and draft_path.read_text(encoding="utf-8") == edited
    assert list_drafts(root).drafts[0].edited is True

    from service.curation.store import accept_draft

    accept_draft(root, summary.article[:3])  # the number is enough
    assert not paths.dir.exists() and paths.principles.exists()
    assert paths.raw.read_bytes() == ARTICLE.encode()
    build(home, fake)
    kb = KnowledgeBase.load(home, fake)
    hits = kb.search(SearchRequest(query="种子用户 破冰活动 周报", k=5)).hits
    assert hits[0].source.doc == summary.doc
    with pytest.raises(DuplicateError):  # published: never redrafted
        add_article(root, ARTICLE.encode(), "cold-start.txt")

    remove_article(root, summary.article)
    after = build(home, fake)
    assert after.corpus_sha256 == before.corpus_sha256
    assert after.files == before.files


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("社群".encode("gbk") + b"\xff\xfe", "not UTF-8"),
        (b"   \n", "empty"),
        ("社群运营".encode() * 60_000, "over the limit"),
        (b"hello world", "no Chinese"),
    ],
)
def test_add_refuses_what_is_not_an_article(home: Settings, data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        add_article(home.corpus_dir, data, "x.txt")
    assert not (home.corpus_dir / "drafts").exists()


def test_near_duplicates_are_refused_unless_forced(home: Settings) -> None:
    import opencc

    name = "000_8a13e7523ba96b1d.txt"
    text = (home.corpus_dir / "raw" / name).read_text(encoding="utf-8")
    traditional = opencc.OpenCC("s2t").convert(text)
    pinyin = "".join(c + ("(yùn)" if i % 4 == 0 else "") for i, c in enumerate(text))
    for copy in (traditional, pinyin, text.replace("社群", "社区", 5)):
        with pytest.raises(DuplicateError, match=name):
            add_article(home.corpus_dir, copy.encode(), "copy.txt")
    with pytest.raises(DuplicateError, match="already published"):
        add_article(home.corpus_dir, text.encode(), "same.txt")
    forced = add_article(home.corpus_dir, traditional.encode(), "copy.txt", force=True)
    assert forced.duplicates and forced.principles > 0


def test_a_second_build_encodes_only_new_texts(home: Settings, fake_embedder: type) -> None:
    from service.build.vector_cache import VECTOR_CACHE_DIR, CachingEmbedder

    before = build(home, fake_embedder())
    add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt")
    from service.curation.store import accept_draft

    accept_draft(home.corpus_dir, list_drafts(home.corpus_dir).drafts[0].article)
    probe = CachingEmbedder(fake_embedder(), home.index_dir / VECTOR_CACHE_DIR)
    from service.build.index import build_index
    from service.corpus import load_corpus

    after = build_index(load_corpus(home.corpus_dir), probe, home.index_dir)
    # every text of the earlier build comes from the cache; only the new article's are encoded
    assert probe.hits >= before.vectors and 0 < probe.misses <= after.vectors - before.vectors


def test_http_upload_list_accept_poll(home: Settings, fake_embedder: type) -> None:
    fake = fake_embedder()
    build(home, fake)
    kb = KnowledgeBase.load(home, fake)
    auth = {"Authorization": "Bearer k"}
    with TestClient(create_app(home, kb)) as client:
        client.app.state.publisher = Publisher(kb, command=FAKE_WORKER)  # type: ignore[attr-defined]
        body = {"filename": "cold-start.txt", "text": ARTICLE}
        assert client.post("/admin/articles", json=body).status_code == 401
        lone = '{"filename": "a.txt", "text": "\\u793e\\ud800"}'  # a lone surrogate, as JSON allows
        as_json = {**auth, "Content-Type": "application/json"}
        bad = client.post("/admin/articles", content=lone, headers=as_json)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
        r = client.post("/admin/articles", json=body, headers=auth)
        assert r.status_code == 201, r.text
        article = r.json()["article"]
        drafts = client.get("/admin/drafts", headers=auth).json()["drafts"]
        assert [d["article"] for d in drafts] == [article]
        assert (
            client.get("/principles", params={"doc": f"{article}.txt"}, headers=auth).status_code == 422
        )  # not served
        job = client.post(f"/admin/drafts/{article}/accept", headers=auth)
        assert job.status_code == 202
        for _ in range(100):
            state = client.get(f"/admin/jobs/{job.json()['id']}", headers=auth).json()
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert state["state"] == "done", state
        assert client.get("/principles", params={"doc": f"{article}.txt"}, headers=auth).json()["total"] > 0
        assert client.post("/admin/drafts/nothing/accept", headers=auth).status_code == 404
    assert read_manifest(home.index_dir).principles == kb.index.manifest.principles


# -- drafting: what makes an unreviewed draft findable (measured by scripts/eval_ingest.py) ----------


def _curated_004() -> tuple[str, dict[str, object]]:
    from service.settings import PROJECT_ROOT

    text = (PROJECT_ROOT / "corpus" / "raw" / "004_8290fcecfd6f0502.txt").read_text(encoding="utf-8")
    data = yaml.safe_load((PROJECT_ROOT / "corpus" / "principles" / "004.yaml").read_text(encoding="utf-8"))
    return text, data


def test_items_that_lost_their_markers_are_items_of_the_list() -> None:
    """004 numbers its eight failures (1), (4), (7), (8): the five unnumbered ones start where the
    curators started them, not inside the item before (whose span would then be too long to count)."""
    from service.ingest.junk import find_junk
    from service.ingest.segment import segment_article

    text, data = _curated_004()
    failures = [p for p in data["principles"] if p.get("group") == "g004-failures"]  # type: ignore[attr-defined]
    curated = [text.index(p["source"]["from"]) for p in failures]
    layout = segment_article(text, find_junk(text))
    group = next(g for g in layout.groups if len(g.members) >= 4)
    assert [layout.segments[k].start for k in group.members] == curated
    # only the numbered ones keep a heading: the others are titled from their first clause
    headed = [layout.segments[k].heading is not None for k in group.members]
    assert headed == [True, False, False, True, False, False, True, True]


def test_a_lost_item_does_not_start_at_a_paragraph_that_goes_on() -> None:
    from service.ingest.segment import segment_article

    body = (
        "做社群踩过的三个坑:\n\n(1)没有设计入群门槛\n\n谁都能扫码进群,进来的人只看热闹,群很快就沉默了。\n\n"
        "举个例子:我们一个群三天进了五百人,第二周就没人说话了。\n\n"
        "群规定得太死板,每天早上八点打卡、晚上九点复盘,大家都在应付,慢慢就没有温度了。\n\n"
        "(3)没有人分享有价值的内容\n\n群里一直只有群主在发,成员没有收获,最后都屏蔽了。\n"
    )
    layout = segment_article(body, [])
    group = layout.groups[0]
    starts = [layout.segments[k].start for k in group.members]
    assert starts == [body.index("(1)"), body.index("群规定得"), body.index("(3)")]


def test_keywords_are_the_passage_own_words() -> None:
    from service.ingest.fields import keywords_for, passage_words

    passages = [
        "社群的门槛要精心设计,扫码就能进的流量群最容易做死,门槛筛掉看热闹的人。",
        "社群运营要有固定的活动形式,比如每两周的周五集中解决一个人的问题。",
        "社群里要有人分享有价值的内容,没有干货的社群很快就会挂掉。",
    ]
    df: dict[str, int] = {}
    for p in passages:
        for w in set(passage_words(p)):
            df[w] = df.get(w, 0) + 1
    got = keywords_for(passages[0], df=df, docs=len(passages))
    assert "门槛" in got[:3] and "社群" not in got  # every passage says 社群: it tells nothing apart


@pytest.mark.parametrize(
    ("passage", "title"),
    [
        (
            "首先我们现在需要明确的是,成功有效的企业社群营销必须先由工作人员来建立。",
            "成功有效的企业社群营销必须先由工作人员来建立",
        ),
        (
            "Scalers老师说:社群的本质是人在人的共同体上要获得共识的难度。",
            "社群的本质是人在人的共同体上要获得共识的难度",
        ),
        (
            "做任何群都要有一个明确的定位这就是最开始能够吸引大家入群的点是什么。",
            "做任何群都要有一个明确的定位",
        ),
    ],
)
def test_a_passage_title_skips_lead_ins(passage: str, title: str) -> None:
    from service.ingest.fields import title_for

    assert title_for(passage, None) == title


def test_a_pitfall_is_described_and_asked_as_an_operator_would() -> None:
    from service.ingest.fields import questions_for, symptoms_for

    passage = "(1)没有设计入群门槛\n谁都能扫码进群,进来的人只看热闹,群很快就沉默了。门槛应该精心设计。"
    symptoms, _ = symptoms_for(passage, "没有设计入群门槛")
    assert symptoms[:2] == [
        "我们的群没有设计入群门槛",
        "我们的群没有设计入群门槛,谁都能扫码进群,进来的人只看热闹,群很快就沉默了,该怎么办?",
    ]
    assert questions_for("pitfall", "没有设计入群门槛", False, 0)[:3] == [
        "要不要设计入群门槛?",
        "不设计入群门槛会怎么样?",
        "怎么做到设计入群门槛?",
    ]
