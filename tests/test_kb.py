"""The facade: one served index per request, swapped whole on reload; the same Query for every policy."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from service.embedder import Vectors
from service.kb import KnowledgeBase
from service.models import AskRequest, PrincipleQuery, SearchBatchRequest, SearchRequest
from service.settings import Settings
from service.store.context import CallContext


def test_reload_swaps_the_served_index_whole(tmp_path: Path, settings: Settings, kb: KnowledgeBase) -> None:
    own = settings.model_copy(update={"index_dir": tmp_path / "index"})
    shutil.copytree(settings.index_dir, own.index_dir, symlinks=True)
    local = KnowledgeBase(own, kb.index, kb.encoder.embedder.inner)
    same = CallContext("cli", request_id="r1")  # the same request id, so the responses can be equal
    before = local.search(SearchRequest(query="入群门槛", k=3), ctx=same)
    old = local.index
    manifest = local.reload()
    assert local.index is not old and local.index.manifest == manifest
    assert local.search(SearchRequest(query="入群门槛", k=3), ctx=same) == before


def test_browsing(kb: KnowledgeBase) -> None:
    steps = kb.list_principles(PrincipleQuery(type="positioning_step"))
    assert steps.total == len(steps.principles) == 3
    assert kb.get(steps.principles[0].id) == steps.principles[0]
    assert {t.name for t in kb.types().types} == kb.index.catalog.type_names
    assert kb.health().principles == len(kb.index.catalog) == kb.list_principles(PrincipleQuery()).total


def test_one_signal_variant_reaches_the_policies(kb: KnowledgeBase) -> None:
    req = AskRequest(question="群公告应该怎么写?", k=5)
    bm25 = kb.ask(req, variant="bm25")
    lead = bm25.hits[0]
    assert bm25.answered and lead.scores["bm25"] and lead.score == lead.scores["bm25"]


def test_search_batch_encodes_its_queries_in_one_call(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    encode = kb.encoder.encode

    def counting(texts: Sequence[str]) -> Vectors:
        calls.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(kb.encoder, "encode", counting)
    queries = [f"第{i}个群怎么管理" for i in range(32)]
    out = kb.search_batch(SearchBatchRequest(queries=queries, k=3))
    assert calls == [32] and [r.query for r in out.results] == queries
    assert all(len(r.hits) == 3 for r in out.results)


def test_search_within_a_callers_own_ids(kb: KnowledgeBase) -> None:
    """`within` (Dify's metadata conditions) ranks only those principles, like a type filter does."""
    req = SearchRequest(query="群里全是广告", k=5)
    everything = kb.search(req)
    chosen = {h.id for h in everything.hits[1:4]} | {"p001-positioning-5w1h"}
    within = kb.search(req, within=chosen)
    assert {h.id for h in within.hits} == chosen
    # the same order as the whole ranking, relevance shared out over this ranking's own top
    assert [h.id for h in within.hits][:3] == [h.id for h in everything.hits[1:4]]
    assert within.hits[0].relevance == within.confidence
    assert kb.search(req, within=set()).hits == []
    again = kb.search(req, within=None)  # the same response but for its own request id
    assert again.model_copy(update={"request_id": everything.request_id}) == everything
