"""The reading views: an article cut into segments (GET /documents/{doc}/view), a draft for review
(GET /admin/drafts/{article}) and one draft principle's edit (PATCH), with their 4xx."""

from __future__ import annotations

import pytest
import yaml
from fastapi.testclient import TestClient
from samples import ARTICLE

from service.api import create_app
from service.build.pipeline import build
from service.curation.models import DraftDetail
from service.curation.store import DraftPaths, add_article
from service.kb import KnowledgeBase
from service.settings import Settings
from service.view_models import ArticleView
from service.views import segment_text

AUTH = {"Authorization": "Bearer k"}


def test_segments_cover_the_text_and_carry_spans() -> None:
    text = "第一行文字\n第二行有一个引用和垃圾\n"
    segs = segment_text(text, {"p": (8, 12)}, [(12, 14)])
    assert "".join(s.raw for s in segs) == text
    assert [(s.start, s.end) for s in segs] == [(0, 6), (6, 8), (8, 12), (12, 14), (14, 18)]
    assert [s.principles for s in segs] == [[], [], ["p"], [], []]
    assert [s.junk for s in segs] == [False, False, False, True, False]


def test_article_view(client: TestClient, kb: KnowledgeBase) -> None:
    r = client.get("/documents/002/view")
    assert r.status_code == 200
    view = ArticleView.model_validate(r.json())
    text = kb.document("002").text
    assert "".join(s.raw for s in view.segments) == text
    ids = {p.id for p in kb.list_principles(kb_query(doc="002")).principles}
    assert {c.id for c in view.cited} == ids
    for p in (kb.get(i) for i in ids):  # every principle's span is exactly the segments naming it
        covered = [s for s in view.segments if p.id in s.principles]
        assert (covered[0].start, covered[-1].end) == (p.source.start, p.source.end)
    assert any(s.junk for s in view.segments)
    assert any(s.text != s.raw for s in view.segments)  # 002 is traditional with pinyin: readable differs
    assert client.get("/documents/nope/view").status_code == 404


def kb_query(**kw: str) -> object:
    from service.models import PrincipleQuery

    return PrincipleQuery(limit=500, **kw)  # type: ignore[arg-type]


@pytest.fixture
def drafted(home: Settings, fake_embedder: type) -> tuple[TestClient, str]:
    fake = fake_embedder()
    build(home, fake)
    kb = KnowledgeBase.load(home, fake)  # a draft is not part of the corpus the index was built from
    summary = add_article(home.corpus_dir, ARTICLE.encode(), "cold-start.txt")
    client = TestClient(create_app(home, kb))
    return client, summary.article


def test_draft_detail_and_edit(drafted: tuple[TestClient, str], home: Settings) -> None:
    client, article = drafted
    with client:
        assert client.get(f"/admin/drafts/{article}").status_code == 401
        r = client.get(f"/admin/drafts/{article}", headers=AUTH)
        assert r.status_code == 200, r.text
        detail = DraftDetail.model_validate(r.json())
        assert "".join(s.raw for s in detail.segments) == ARTICLE
        first = detail.principles[0]
        assert first.start is not None and first.end is not None and first.problem is None
        assert {"type", "title", "summary", "source"} <= set(first.generated)
        url = f"/admin/drafts/{article}/principles/{first.id}"

        # a title edit, then a source edit by offsets: both kept, each field counted as checked
        ok = client.patch(url, json={"title": "先找二十个种子用户"}, headers=AUTH)
        assert ok.status_code == 200, ok.text
        start = ARTICLE.index("种子用户要和产品")
        end = ARTICLE.index("老客户。") + len("老客户。")
        ok = client.patch(url, json={"source": {"start": start, "end": end}}, headers=AUTH)
        assert ok.status_code == 200, ok.text
        edited = DraftDetail.model_validate(ok.json())
        p = edited.principles[0]
        assert (p.title, p.start, p.end) == ("先找二十个种子用户", start, end)
        assert "title" not in p.generated and "source" not in p.generated and "summary" in p.generated
        assert edited.edited
        on_disk = yaml.safe_load((DraftPaths(home.corpus_dir, article).draft).read_text(encoding="utf-8"))
        assert on_disk["principles"][0]["title"] == "先找二十个种子用户"
        assert on_disk["principles"][1] == yaml.safe_load(_before(home, article, 1))  # others untouched


def _before(home: Settings, article: str, i: int) -> str:
    data = yaml.safe_load((DraftPaths(home.corpus_dir, article).draft).read_text(encoding="utf-8"))
    return yaml.safe_dump(data["principles"][i], allow_unicode=True)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({}, 422, "at least one"),
        ({"titel": "x"}, 422, "titel"),
        ({"type": "no-such-type"}, 422, "unknown type"),
        ({"summary": "短"}, 422, "summary"),
        ({"source": {"from": "这句话不在文章里面"}}, 422, "not found"),
        ({"source": {"start": 5}}, 422, "start"),
        ({"source": {"start": 0, "end": 100_000}}, 422, "not a span"),
    ],
)
def test_draft_edit_refuses_bad_input(
    drafted: tuple[TestClient, str], home: Settings, body: dict[str, object], status: int, says: str
) -> None:
    client, article = drafted
    path = DraftPaths(home.corpus_dir, article).draft
    before = path.read_bytes()
    with client:
        pid = client.get(f"/admin/drafts/{article}", headers=AUTH).json()["principles"][0]["id"]
        r = client.patch(f"/admin/drafts/{article}/principles/{pid}", json=body, headers=AUTH)
        assert r.status_code == status, r.text
        assert says in r.json()["error"]["message"]
        assert path.read_bytes() == before  # nothing written
        nope = f"/admin/drafts/{article}/principles/nope"
        missing = client.patch(nope, json={"title": "标题"}, headers=AUTH)
        assert missing.status_code == 404
        assert client.get("/admin/drafts/nothing", headers=AUTH).status_code == 404


def test_groups_list_the_articles_lists(client: TestClient, kb: KnowledgeBase) -> None:
    r = client.get("/groups")
    assert r.status_code == 200
    groups = {g["id"]: g for g in r.json()["groups"]}
    steps = groups["g001a-positioning-steps"]
    assert (steps["title"], steps["ordered"], steps["size"]) == ("社群定位三步法", True, 3)
    for g in groups.values():  # each size is the number of members /principles?group= returns
        assert len(kb.list_principles(kb_query(group=g["id"])).principles) == g["size"]
    assert client.get("/groups", params={"x": 1}).status_code == 422  # cached routes refuse unknown params


def test_draft_edit_during_a_build_is_a_quick_409(drafted: tuple[TestClient, str], home: Settings) -> None:
    import threading

    from service.curation.locks import corpus_lock

    client, article = drafted
    held, release = threading.Event(), threading.Event()

    def build_running() -> None:  # the lock's holder is another thread, as an accept job's build is
        with corpus_lock(home.corpus_dir):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=build_running)
    holder.start()
    try:
        held.wait(10)
        with client:
            pid = client.get(f"/admin/drafts/{article}", headers=AUTH).json()["principles"][0]["id"]
            url = f"/admin/drafts/{article}/principles/{pid}"
            r = client.patch(url, json={"title": "标题"}, headers=AUTH)
        assert r.status_code == 409 and r.json()["error"]["code"] == "busy"
    finally:
        release.set()
        holder.join()
