"""Ranked results and principles as wire models: the one place a `Ranked` becomes a `Hit`, and a
principle becomes a link or an assistant's compact item."""

from __future__ import annotations

import functools

from service.models import (
    Citation,
    CitedSource,
    Hit,
    LinkedPrinciple,
    Principle,
    PrincipleBrief,
    Role,
    Source,
    ToolHit,
)
from service.normalize import readable_text
from service.retrieval import Ranked

__all__ = ["QUOTE_CHARS", "cite", "short_quote", "to_compact", "to_hit", "to_link"]

QUOTE_CHARS = 60


def to_hit(
    r: Ranked,
    rank: int = 1,
    role: Role = "lead",
    linked_from: str | None = None,
    score: float | None = None,
    relevance: float | None = None,
) -> Hit:
    """`score` replaces the ranking's score when the caller placed the hit (its own fused score)."""
    p = r.principle
    return Hit(
        **_brief(p),
        advice_citation=cite(p.advice_citation) if p.advice_citation else None,
        missing=p.missing,
        group=p.group,
        order=p.order,
        rank=rank,
        role=role,
        linked_from=linked_from,
        score=r.score if score is None else score,
        scores=dict(r.signals),
        relevance=relevance,
        source=cite(p.source),
    )


def cite(s: Source) -> CitedSource:
    return _cited(s.doc, s.title, s.start, s.end, s.quote)


@functools.lru_cache(maxsize=4096)
def _cited(doc: str, title: str, start: int, end: int, quote: str) -> CitedSource:
    # a principle's citation is the same in every response: built (and validated) once, shared after.
    # Models are never changed in place here, and pydantic does not copy a field's model instance
    return CitedSource(doc=doc, title=title, start=start, end=end, quote=quote, text=readable_text(quote))


def to_link(p: Principle) -> LinkedPrinciple:
    return LinkedPrinciple(**{name: getattr(p, name) for name in LinkedPrinciple.model_fields})


def to_compact(h: Hit | Principle) -> ToolHit:
    """What a chat assistant sees of a principle or a hit: short, with a citation."""
    s = h.source
    return ToolHit(
        **_brief(h),
        missing=h.missing,
        citation=Citation(
            doc=s.doc, article=s.title, start=s.start, end=s.end, quote=s.quote, text=short_quote(s.quote)
        ),
    )


@functools.lru_cache(maxsize=4096)
def short_quote(raw: str, limit: int = QUOTE_CHARS) -> str:
    """The start of a cited passage as a person reads it: normalised (simplified, pinyin removed),
    whitespace collapsed, cut at `limit` characters with an ellipsis."""
    text = " ".join(readable_text(raw).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _brief(p: Hit | Principle) -> dict[str, object]:
    """The fields every projection of a principle shares (PrincipleBrief), copied by name."""
    return {name: getattr(p, name) for name in PrincipleBrief.model_fields}
