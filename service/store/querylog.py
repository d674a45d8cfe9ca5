"""QueryLog: the query log's one handle, held by the KnowledgeBase. Events go in through the background
writer; feedback, gaps and the curators' views are read and written in one Session per call, and any
database failure there is a StoreError (503), never a 500.

Opening it applies the migrations (Alembic): at `kb serve` start, or `kb db upgrade`."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import StoreError, UnknownRequestError
from service.settings import Settings
from service.store import views
from service.store.db import describe, make_engine, upgrade
from service.store.events import EventRecord
from service.store.models import (
    ClusterList,
    DislikedList,
    FeedbackReceipt,
    FeedbackRequest,
    GapList,
    GapRecord,
    LogFilter,
    LoggedEvent,
    PrincipleHitsList,
)
from service.store.schema import Event, Feedback, Gap
from service.store.writer import EventWriter

__all__ = ["CSV_COLUMNS", "QueryLog", "open_query_log", "to_csv", "to_jsonl"]

# how long a rating waits for its event to leave the writer's queue (it was answered moments ago)
_FLUSH_S = 2.0


def open_query_log(settings: Settings) -> QueryLog | None:
    """The query log the settings ask for, migrated to the newest schema; None when KB_QUERY_LOG=off."""
    if not settings.query_log:
        return None
    engine = make_engine(settings.db_url())
    upgrade(engine)
    return QueryLog(engine, settings.query_log_queue, settings.query_log_retention_days)


class QueryLog:
    def __init__(self, engine: Engine, queue_size: int = 10_000, retention_days: int = 90) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.writer = EventWriter(self.sessions, queue_size, retention_days)

    def record(self, rec: EventRecord) -> None:
        self.writer.put(rec)

    @property
    def dropped(self) -> int:
        return self.writer.dropped

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self.sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise describe(self.engine, exc) from exc

    # -- one event ------------------------------------------------------------------------------------

    def event(self, request_id: str) -> LoggedEvent:
        """The newest event with this request id; an event still queued is waited for briefly."""
        found = self._event(request_id)
        if found is None and self.writer.flush(_FLUSH_S):
            found = self._event(request_id)
        if found is None:
            raise UnknownRequestError(f"no logged response has request id {request_id!r}")
        return found

    def _event(self, request_id: str) -> LoggedEvent | None:
        with self._session() as s:
            ev = s.scalars(
                select(Event).where(Event.request_id == request_id).order_by(Event.id.desc()).limit(1)
            ).first()
            return None if ev is None else views.to_logged(ev, s.get(Feedback, request_id))

    # -- feedback -------------------------------------------------------------------------------------

    def rate(self, req: FeedbackRequest, key_name: str | None) -> FeedbackReceipt:
        """Store a rating of a logged response; rating the same response again replaces it."""
        self.event(req.request_id)  # 404 for a response we never gave
        values = {
            "at": datetime.now(UTC),
            "rating": req.rating,
            "reason": req.reason,
            "principle_ids": list(req.principle_ids),
            "comment": req.comment,
            "key_name": key_name,
        }
        for _attempt in range(2):  # two first ratings at once: one inserts, the other then updates
            try:
                with self._session() as s:
                    row = s.get(Feedback, req.request_id)
                    updated = row is not None
                    if row is None:
                        s.add(Feedback(request_id=req.request_id, **values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)
                break
            except StoreError as exc:
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
        return FeedbackReceipt(
            request_id=req.request_id,
            rating=req.rating,
            reason=req.reason,
            principle_ids=list(req.principle_ids),
            comment=req.comment,
            updated=updated,
        )

    # -- curators' views ------------------------------------------------------------------------------

    def misses(self, flt: LogFilter, below: float, encode: Callable[[Sequence[str]], Any]) -> ClusterList:
        with self._session() as s:
            return views.misses(s, flt, below, encode)

    def disliked(self, flt: LogFilter, title: Callable[[str], str]) -> DislikedList:
        with self._session() as s:
            return views.disliked(s, flt, title)

    def principle_hits(self, flt: LogFilter, title: Callable[[str], str]) -> PrincipleHitsList:
        with self._session() as s:
            return views.principle_hits(s, flt, title)

    def events(self, flt: LogFilter, limit: int) -> list[LoggedEvent]:
        with self._session() as s:
            return list(views.events(s, flt, limit))

    # -- gaps -----------------------------------------------------------------------------------------

    def add_gap(self, text: str, note: str | None, request_id: str | None, key_name: str | None) -> GapRecord:
        with self._session() as s:
            gap = Gap(at=datetime.now(UTC), text=text, note=note, request_id=request_id, key_name=key_name)
            s.add(gap)
            s.flush()
            return _gap(gap)

    def gaps(self) -> GapList:
        with self._session() as s:
            return GapList(
                gaps=[_gap(g) for g in s.scalars(select(Gap).order_by(Gap.at.desc(), Gap.id.desc()))]
            )


def _gap(g: Gap) -> GapRecord:
    return GapRecord(id=g.id, at=views.utc(g.at), text=g.text, note=g.note, request_id=g.request_id)


# the export's CSV: one row per event, its hits as "id@rank" joined by spaces
CSV_COLUMNS = (
    "at", "request_id", "operation", "surface", "key_name", "text", "answered", "coverage", "confidence",
    "latency_ms", "index_built_at", "hits", "rating", "reason", "principle_ids", "comment",
)  # fmt: skip


def to_jsonl(events: Sequence[LoggedEvent]) -> str:
    return "".join(e.model_dump_json() + "\n" for e in events)


def to_csv(events: Sequence[LoggedEvent]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for e in events:
        row = e.model_dump(mode="json")
        row["hits"] = " ".join(f"{h.principle_id}@{h.rank}" for h in e.hits)
        row["principle_ids"] = " ".join(e.principle_ids)
        w.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()
