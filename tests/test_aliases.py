"""The alias table (corpus/aliases.yaml): jargon rewritten into the articles' words, and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.aliases import AliasEntry, AliasTable, load_aliases
from service.errors import CorpusError
from service.kb import KnowledgeBase
from service.models import DiagnoseRequest, SearchRequest
from service.normalize import normalize_text
from service.settings import Settings


@pytest.fixture(scope="module")
def table(settings: Settings) -> AliasTable:
    return load_aliases(settings.corpus_dir)


@pytest.mark.parametrize(
    ("query", "fired"),
    [
        ("KOL请假了群就冷场", [("kol", "大咖"), ("冷场", "活跃")]),
        ("private domain的funnel", [("private domain", "私域"), ("funnel", "转化 路径")]),
        ("SOP怎么写", [("sop", "标准化流程")]),
        ("群里没人说话", []),  # nothing to recognise
        ("SOPHIA是谁", []),  # an ASCII alias only on word boundaries
    ],
)
def test_jargon_is_recognised_and_the_text_left_alone(
    table: AliasTable, query: str, fired: list[tuple[str, str]]
) -> None:
    text, done = table.rewrite(normalize_text(query))
    assert text == normalize_text(query)
    assert [(r.before, r.after) for r in done] == fired


def test_canonical_words_occur_in_the_articles(table: AliasTable, settings: Settings) -> None:
    articles = "".join(
        normalize_text(p.read_text(encoding="utf-8")) for p in (settings.corpus_dir / "raw").glob("*.txt")
    )
    assert sorted(w for w in table.canonical_words if w not in articles) == []


def test_an_alias_with_two_meanings_is_refused() -> None:
    with pytest.raises(CorpusError, match="maps to two canonical forms"):
        AliasTable(
            [AliasEntry(canonical="大咖", aliases=["KOL"]), AliasEntry(canonical="达人", aliases=["kol"])]
        )


def test_a_broken_table_is_a_corpus_error(tmp_path: Path) -> None:
    (tmp_path / "aliases.yaml").write_text("- canonical: 大咖\n  alias: [KOL]\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"aliases\.yaml"):
        load_aliases(tmp_path)


def test_jargon_finds_what_the_articles_call_it(kb: KnowledgeBase) -> None:
    # the articles never say KOL: the adapted encoder learnt it from the alias table's training variants
    query = kb.encoder.query("社群全靠KOL撑着")
    assert [(r.before, r.after) for r in query.rewrites] == [("kol", "大咖")]
    top = [h.id for h in kb.search(SearchRequest(query="社群全靠KOL撑着", k=3)).hits]
    assert "p000-rely-on-kol" in top, top


def test_diagnose_leads_with_the_problem_not_the_generic_word(kb: KnowledgeBase) -> None:
    situation = "我们的私域流量群全靠一个KOL撑着,他一请假群就冷场,新人进来也没人欢迎"
    top = [h.title for h in kb.diagnose(DiagnoseRequest(situation=situation, k=5)).hits[:3]]
    assert any("大咖" in t for t in top), top
