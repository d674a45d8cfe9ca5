"""What one call records: an `EventRecord`, built by the core on the request path (plain data, no
database), turned into rows by the background writer; and pruning by age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.store.schema import TEXT_MAX, Event, EventHit, Feedback

__all__ = ["EventRecord", "HitRecord", "prune", "to_row"]


@dataclass(frozen=True, slots=True)
class HitRecord:
    principle_id: str
    rank: int
    score: float
    relevance: float | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    request_id: str
    at: datetime
    operation: str
    surface: str
    key_name: str | None
    text: str
    normalized: str
    answered: bool
    coverage: str | None
    confidence: float
    latency_ms: float
    index_corpus: str
    index_built_at: str
    hits: tuple[HitRecord, ...]


def to_row(rec: EventRecord) -> Event:
    return Event(
        request_id=rec.request_id,
        at=rec.at,
        operation=rec.operation,
        surface=rec.surface,
        key_name=rec.key_name,
        # the request models bound the text already; the cut only guards the column
        text=rec.text[:TEXT_MAX],
        normalized=rec.normalized[:TEXT_MAX],
        answered=rec.answered,
        coverage=rec.coverage,
        confidence=rec.confidence,
        latency_ms=rec.latency_ms,
        index_corpus=rec.index_corpus,
        index_built_at=rec.index_built_at,
        hits=[EventHit(rank=h.rank, principle_id=h.principle_id, score=h.score, relevance=h.relevance)
              for h in rec.hits],
    )  # fmt: skip


def prune(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete events (their hits go with them) and feedback older than `days`; returns events deleted."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    ids = list(session.scalars(select(Event.id).where(Event.at < cutoff)))
    for start in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[start : start + 500]
        session.execute(delete(EventHit).where(EventHit.event_id.in_(chunk)))
        session.execute(delete(Event).where(Event.id.in_(chunk)))
    session.execute(delete(Feedback).where(Feedback.at < cutoff))
    return len(ids)
