"""Ranked results as wire models: the one place a `Ranked` becomes a `Hit` or a link."""

from __future__ import annotations

from service.models import Hit, LinkedPrinciple, Principle, Scores
from service.search import Ranked


def to_hit(r: Ranked) -> Hit:
    p = r.principle
    return Hit(
        id=p.id,
        type=p.type,
        title=p.title,
        summary=p.summary,
        advice=p.advice,
        group=p.group,
        order=p.order,
        score=r.score,
        scores=Scores(dense=r.dense, bm25=r.bm25),
        source=p.source,
    )


def to_link(p: Principle) -> LinkedPrinciple:
    return LinkedPrinciple(id=p.id, type=p.type, title=p.title)
