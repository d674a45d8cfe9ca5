"""The database's tables as SQLAlchemy 2 typed models. They never leave service/store/: the wire format
is pydantic (service/store/models.py), and every change to a table is an Alembic migration
(service/store/migrations/versions/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Event", "EventHit", "Feedback", "Gap"]

# bounds of what the request models accept (a question 500, a situation 2000 characters) with room
TEXT_MAX = 4000
COMMENT_MAX = 2000


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class Event(Base):
    """One search, ask or diagnose, from any edge."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # not unique: a client may send its own X-Request-ID twice; feedback goes to the newest
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    operation: Mapped[str] = mapped_column(String(16))
    surface: Mapped[str] = mapped_column(String(8))
    key_name: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(Text)
    answered: Mapped[bool]
    coverage: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    latency_ms: Mapped[float] = mapped_column(Float)
    index_corpus: Mapped[str] = mapped_column(String(64))
    index_built_at: Mapped[str] = mapped_column(String(32))
    hits: Mapped[list[EventHit]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventHit.rank"
    )


class EventHit(Base):
    """One hit of an event's response, by rank: hits per principle are a GROUP BY on this table."""

    __tablename__ = "event_hits"
    __table_args__ = (Index("ix_event_hits_principle", "principle_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    principle_id: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    relevance: Mapped[float | None] = mapped_column(Float)
    event: Mapped[Event] = relationship(back_populates="hits")


class Feedback(Base):
    """A rating of one response, by its request id; rating it again replaces it."""

    __tablename__ = "feedback"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    rating: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(16))
    principle_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    key_name: Mapped[str | None] = mapped_column(String(64))


class Gap(Base):
    """A topic users ask about that no article covers, recorded by a curator from a logged question."""

    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    request_id: Mapped[str | None] = mapped_column(String(64))
    key_name: Mapped[str | None] = mapped_column(String(64))
