from pathlib import Path

import pytest
import yaml

from service.corpus import load_corpus, resolve_quote
from service.errors import CorpusError

ROOT = Path(__file__).resolve().parents[1] / "corpus"
SEEDS = ROOT.parents[1] / "shared" / "seeds"


def test_raw_files_are_byte_identical_to_the_seeds() -> None:
    if not SEEDS.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    for seed in SEEDS.glob("*.txt"):
        assert (ROOT / "raw" / seed.name).read_bytes() == seed.read_bytes()


def test_every_quote_is_the_raw_span(corpus) -> None:  # type: ignore[no-untyped-def]
    for p in corpus.principles:
        raw = corpus.raw[p.source.doc]
        assert p.source.quote == raw[p.source.start : p.source.end], p.id
        assert 0 < p.source.end - p.source.start <= 1200, p.id


def test_pitfalls_carry_advice_and_symptoms(corpus) -> None:  # type: ignore[no-untyped-def]
    for p in corpus.principles:
        if p.type == "pitfall":
            assert p.advice and len(p.symptoms) >= 2, p.id


def test_every_principle_lists_the_questions_it_answers(corpus) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, str] = {}
    for p in corpus.principles:
        assert len(p.questions) >= (2 if p.type == "pitfall" else 3), p.id
        for q in p.questions:
            # one question pointing at two principles would only blur both
            assert seen.setdefault(q, p.id) == p.id, f"{q!r} is listed by {seen[q]} and {p.id}"


def test_no_span_touches_junk(corpus) -> None:  # type: ignore[no-untyped-def]
    assert corpus.junk, "each article's junk is declared"
    for p in corpus.principles:
        for start, end in corpus.junk.get(p.source.doc, []):
            assert p.source.end <= start or p.source.start >= end, p.id


def test_links_are_symmetric_for_related(corpus) -> None:  # type: ignore[no-untyped-def]
    by_id = corpus.by_id()
    for p in corpus.principles:
        for other in p.related:
            assert p.id in by_id[other].related


@pytest.mark.parametrize(
    ("quote_from", "quote_to", "expected"),
    [("社群运营", None, (0, 4)), ("运营不是", "过程", (2, 11))],
)
def test_resolve_quote(quote_from: str, quote_to: str | None, expected: tuple[int, int]) -> None:
    assert resolve_quote("社群运营不是短期的过程。", quote_from, quote_to, "t") == expected


@pytest.mark.parametrize(
    ("quote_from", "quote_to", "message"),
    [
        ("不存在的话", None, "not found"),
        ("社群", None, "more than once"),
        ("运营不是", "不存在", "'to' not found"),
    ],
)
def test_resolve_quote_failures(quote_from: str, quote_to: str | None, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        resolve_quote("社群运营不是短期的,社群是长期的过程。", quote_from, quote_to, "f.yaml: p1")


def _corpus_copy(tmp_path: Path, principle: dict) -> Path:  # type: ignore[type-arg]
    (tmp_path / "principles").mkdir()
    (tmp_path / "raw").mkdir()
    for f in (ROOT / "raw").glob("*.txt"):
        (tmp_path / "raw" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "types.yaml").write_text((ROOT / "types.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    doc = {"doc": "000_8a13e7523ba96b1d.txt", "title": "t", "principles": [principle]}
    (tmp_path / "principles" / "x.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp_path


GOOD = {
    "id": "p-test",
    "type": "concept",
    "title": "长期过程",
    "summary": "社群运营是长期过程,不是短期盈利。",
    "source": {"from": "社群运营不是短期盈利"},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": {"from": "这句话不在文章里出现"}}, r"x\.yaml: p-test: quote 'from' not found"),
        ({"type": "tip"}, r"p-test: unknown type 'tip'"),
        ({"sumary": "typo"}, r"x\.yaml: principles\.0\.sumary: Extra inputs are not permitted"),
        ({"type": "pitfall"}, "needs advice"),
        ({"related": ["p-nowhere"]}, "unknown principle 'p-nowhere'"),
        ({"group": "g-nowhere", "order": 1}, "unknown group"),
        ({"advice_span": {"from": "社群运营不是短期盈利"}}, "p-test: advice_span without advice"),
        (
            {"advice": "慢慢来", "advice_span": {"from": "这句话不在文章里"}},
            r"p-test\.advice_span: quote 'from' not found",
        ),
    ],
)
def test_bad_entries_fail_the_build_naming_file_and_entry(tmp_path: Path, change: dict, message: str) -> None:  # type: ignore[type-arg]
    root = _corpus_copy(tmp_path, {**GOOD, **change})
    with pytest.raises(CorpusError, match=message):
        load_corpus(root)


def test_good_entry_loads(tmp_path: Path) -> None:
    corpus = load_corpus(_corpus_copy(tmp_path, GOOD))
    [p] = corpus.principles
    assert p.source.quote == "社群运营不是短期盈利"
    assert corpus.raw[p.source.doc][p.source.start : p.source.end] == p.source.quote


def test_advice_span_and_phrasings_load(tmp_path: Path) -> None:
    root = _corpus_copy(
        tmp_path, {**GOOD, "advice": "做长期打算", "advice_span": {"from": "社群运营不是短期盈利"}}
    )
    (root / "phrasings").mkdir()
    (root / "phrasings" / "x.yaml").write_text("p-test: [做群多久能回本, 社群回本周期]\n", encoding="utf-8")
    [p] = load_corpus(root).principles
    assert p.advice_source == "article" and p.advice_citation is not None
    assert p.advice_citation.quote == "社群运营不是短期盈利"
    assert p.phrasings == ["做群多久能回本", "社群回本周期"]
    (root / "phrasings" / "x.yaml").write_text("p-nowhere: [做群多久能回本]\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"phrasings/x\.yaml: unknown principle id 'p-nowhere'"):
        load_corpus(root)
