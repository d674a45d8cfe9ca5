"""What curators read from the query log: questions missed, grouped by similarity; disliked answers by
principle; hits per principle with the questions behind them; the events themselves, for export.

Missed questions are clustered by their embeddings under the served query encoder (the KB's own):
the questions a curator must see together are the ones the knowledge base itself cannot tell apart,
and paraphrases share few tokens (群里没人说话 / 社群冷清 share none), so token overlap would split them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from service.store.models import (
    Cluster,
    ClusterList,
    Disliked,
    DislikedList,
    LogFilter,
    LoggedEvent,
    LoggedHit,
    PrincipleHits,
    PrincipleHitsList,
)
from service.store.schema import Event, EventHit, Feedback

__all__ = ["SCAN", "disliked", "events", "misses", "principle_hits", "utc"]

# the newest events a view reads at most: a view answers in bounded time whatever the log's size
SCAN = 5000
EXAMPLES = 5
# cosine similarity at which two missed questions belong together (unit vectors: dot product)
CLUSTER_SIMILARITY = 0.8

Encode = Callable[[Sequence[str]], Any]
Titles = Callable[[str], str]


def utc(at: datetime) -> datetime:
    """SQLite gives back naive datetimes; every time we write is UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


def _where(stmt: _S, flt: LogFilter) -> _S:
    if flt.since is not None:
        stmt = stmt.where(Event.at >= utc(flt.since))
    if flt.until is not None:
        stmt = stmt.where(Event.at < utc(flt.until))
    if flt.operation is not None:
        stmt = stmt.where(Event.operation == flt.operation)
    if flt.surface is not None:
        stmt = stmt.where(Event.surface == flt.surface)
    if flt.key_name is not None:
        stmt = stmt.where(Event.key_name == flt.key_name)
    return stmt


def misses(session: Session, flt: LogFilter, below: float, encode: Encode) -> ClusterList:
    """Events not answered, or answered with confidence under `below`, clustered; newest cluster first."""
    stmt = _where(select(Event), flt).where(or_(Event.answered.is_(False), Event.confidence < below))
    rows = session.scalars(
        stmt.options(selectinload(Event.hits)).order_by(Event.at.desc(), Event.id.desc()).limit(SCAN)
    ).all()
    # the same text asked again is one point to cluster
    by_text: dict[str, list[Event]] = {}
    for ev in rows:
        by_text.setdefault(ev.normalized, []).append(ev)
    texts = list(by_text)
    groups: list[list[str]] = []
    if texts:
        vectors = np.asarray(encode(texts), dtype=np.float32)
        leaders: list[int] = []
        members: list[list[str]] = []
        # leader clustering in newest-first order: each text joins the most similar earlier leader
        for i, text in enumerate(texts):
            if leaders:
                sims = vectors[leaders] @ vectors[i]
                best = int(np.argmax(sims))
                if sims[best] >= CLUSTER_SIMILARITY:
                    members[best].append(text)
                    continue
            leaders.append(i)
            members.append([text])
        groups = members
    clusters = [_cluster([ev for t in group for ev in by_text[t]]) for group in groups]
    clusters.sort(key=lambda c: c.last_at, reverse=True)
    return ClusterList(events=len(rows), clusters=clusters[: flt.limit])


def _cluster(evs: list[Event]) -> Cluster:
    evs.sort(key=lambda e: (e.at, e.id), reverse=True)
    texts = list(dict.fromkeys(e.text for e in evs))
    firsts = Counter(e.hits[0].principle_id for e in evs if e.hits)
    return Cluster(
        count=len(evs),
        last_at=utc(evs[0].at),
        texts=texts[:EXAMPLES],
        request_ids=[e.request_id for e in evs[:EXAMPLES]],
        operations=sorted({e.operation for e in evs}),
        top_principle=firsts.most_common(1)[0][0] if firsts else None,
    )


def disliked(session: Session, flt: LogFilter, title: Titles) -> DislikedList:
    """Rated responses by the principle they led with: 👎 first, with what raters wanted instead."""
    first = select(EventHit.event_id, EventHit.principle_id).where(EventHit.rank == 1).subquery()
    stmt = (
        _where(
            select(Event.text, Event.at, Feedback.rating, Feedback.principle_ids, first.c.principle_id), flt
        )
        .join(Feedback, Feedback.request_id == Event.request_id)
        .join(first, first.c.event_id == Event.id)
        .order_by(Event.at.desc())
        .limit(SCAN)
    )
    per: dict[str, dict[str, Any]] = {}
    for text, _at, rating, wanted, pid in session.execute(stmt):
        entry = per.setdefault(pid, {"downs": 0, "ups": 0, "questions": [], "wanted": Counter()})
        if rating == "down":
            entry["downs"] += 1
            if text not in entry["questions"] and len(entry["questions"]) < EXAMPLES:
                entry["questions"].append(text)
            entry["wanted"].update(wanted or [])
        else:
            entry["ups"] += 1
    out = [
        Disliked(principle_id=pid, title=title(pid), downs=e["downs"], ups=e["ups"], questions=e["questions"],
                 wanted=dict(e["wanted"].most_common()))
        for pid, e in per.items() if e["downs"]
    ]  # fmt: skip
    out.sort(key=lambda d: (-d.downs, d.ups, d.principle_id))
    return DislikedList(principles=out[: flt.limit])


def principle_hits(session: Session, flt: LogFilter, title: Titles, top: int = 3) -> PrincipleHitsList:
    """How often each principle was ranked in the top `top`, most hit first, with the questions."""
    counted = (
        _where(
            select(
                EventHit.principle_id,
                func.count().label("hits"),
                func.sum(case((EventHit.rank == 1, 1), else_=0)).label("first"),
            ).join(Event, Event.id == EventHit.event_id),
            flt,
        )
        .where(EventHit.rank <= top)
        .group_by(EventHit.principle_id)
        .order_by(func.count().desc(), EventHit.principle_id)
        .limit(flt.limit)
    )
    counts = session.execute(counted).all()
    ids = [pid for pid, _, _ in counts]
    questions: dict[str, list[str]] = {pid: [] for pid in ids}
    if ids:
        recent = (
            _where(select(EventHit.principle_id, Event.text).join(Event, Event.id == EventHit.event_id), flt)
            .where(EventHit.rank <= top, EventHit.principle_id.in_(ids))
            .order_by(Event.at.desc())
            .limit(SCAN)
        )
        for pid, text in session.execute(recent):
            if text not in questions[pid] and len(questions[pid]) < EXAMPLES:
                questions[pid].append(text)
    return PrincipleHitsList(
        principles=[
            PrincipleHits(
                principle_id=pid, title=title(pid), hits=n, first=int(f or 0), questions=questions[pid]
            )
            for pid, n, f in counts
        ]
    )


def events(session: Session, flt: LogFilter, limit: int | None = None) -> Iterator[LoggedEvent]:
    """The events themselves with their feedback, newest first (the export)."""
    stmt = (
        _where(select(Event, Feedback), flt)
        .outerjoin(Feedback, Feedback.request_id == Event.request_id)
        .options(selectinload(Event.hits))
        .order_by(Event.at.desc(), Event.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    for ev, fb in session.execute(stmt):
        yield to_logged(ev, fb)


def to_logged(ev: Event, fb: Feedback | None) -> LoggedEvent:
    return LoggedEvent(
        request_id=ev.request_id,
        at=utc(ev.at),
        operation=ev.operation,
        surface=ev.surface,
        key_name=ev.key_name,
        text=ev.text,
        normalized=ev.normalized,
        answered=ev.answered,
        coverage=ev.coverage,
        confidence=ev.confidence,
        latency_ms=ev.latency_ms,
        index_corpus=ev.index_corpus,
        index_built_at=ev.index_built_at,
        hits=[LoggedHit(principle_id=h.principle_id, rank=h.rank, score=h.score, relevance=h.relevance)
              for h in ev.hits],
        rating=fb.rating if fb else None,
        reason=fb.reason if fb else None,
        principle_ids=list(fb.principle_ids) if fb else [],
        comment=fb.comment if fb else None,
    )  # fmt: skip
