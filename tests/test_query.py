"""The query pipeline: clauses with offsets, one encode per query, the cache, rewriting steps."""

from __future__ import annotations

from service.kb import KnowledgeBase
from service.query import Query, QueryEncoder, Rewrite, split_clauses


def test_split_situation_keeps_offsets() -> None:
    text = "老板要群越多越好,群里全是广告。我每天就是回消息…"
    parts = split_clauses(text)
    assert [p.text for p in parts] == ["老板要群越多越好", "群里全是广告", "我每天就是回消息"]
    assert all(text[p.start : p.end] == p.text for p in parts)


def test_a_query_is_built_once_with_its_clauses(kb: KnowledgeBase) -> None:
    text = "群里全是广告。老板还要我每周建十个新群"
    q = kb.encoder.query(text, min_clauses=1)
    assert q.text == text and q.normalized == "群里全是广告。老板还要我每周建十个新群"
    assert [c.span.text for c in q.clauses if c.span] == ["群里全是广告", "老板还要我每周建十个新群"]
    assert q.vector.shape == (512,) and all(c.vector.shape == (512,) for c in q.clauses)
    assert kb.encoder.query(text, min_clauses=3).clauses == ()  # fewer clauses than asked: none encoded
    assert kb.encoder.query(text).clauses == ()


class _Expand:
    """A toy rewriting step (an alias table would be one)."""

    name = "expand"

    def rewrite(self, normalized: str) -> tuple[str, list[Rewrite]]:
        return normalized.replace("sop", "标准流程"), [
            Rewrite(self.name, "sop", "标准流程")
        ] if "sop" in normalized else []


def test_rewriting_steps_run_before_encoding_and_are_recorded(kb: KnowledgeBase) -> None:
    encoder = QueryEncoder(kb.encoder.embedder.inner, rewriters=[_Expand()])
    q: Query = encoder.query("社群SOP怎么写")
    assert q.normalized == "社群标准流程怎么写" and q.rewrites == (Rewrite("expand", "sop", "标准流程"),)
    assert encoder.query("社群怎么写").rewrites == ()


def test_repeated_texts_come_from_the_cache(kb: KnowledgeBase) -> None:
    calls: list[list[str]] = []
    inner = kb.encoder.embedder.inner

    class Counting:
        name = inner.name
        dimension = inner.dimension

        def encode(self, texts: list[str]) -> object:
            calls.append(texts)
            return inner.encode(texts)

    encoder = QueryEncoder(Counting(), cache_size=8)  # type: ignore[arg-type]
    first = encoder.query("群公告怎么写")
    second = encoder.query("群公告怎么写")
    assert len(calls) == 1 and (first.vector == second.vector).all()
