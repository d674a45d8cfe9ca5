"""The query log's wire format: feedback, the curators' views and actions. (The tables are
service/store/schema.py; nothing here is an ORM object.)"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from service.store.context import Surface

__all__ = [
    "Cluster",
    "ClusterList",
    "Disliked",
    "DislikedList",
    "ExportFilter",
    "FeedbackReceipt",
    "FeedbackRequest",
    "GapList",
    "GapRecord",
    "GapRequest",
    "LogFilter",
    "LoggedEvent",
    "LoggedHit",
    "MissFilter",
    "PhrasingAdded",
    "PhrasingRequest",
    "PrincipleHits",
    "PrincipleHitsList",
    "Rating",
    "Reason",
    "ScopeLabelled",
    "ScopeRequest",
]

Rating = Literal["up", "down"]
Reason = Literal["wrong", "incomplete", "not_covered", "other"]
Operation = Literal["search", "ask", "diagnose"]
RequestId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[!-~]+$")]
PrincipleId = Annotated[str, Field(min_length=1, max_length=100)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FeedbackRequest(_Body):
    request_id: RequestId = Field(description="the request_id of the rated response (its body, X-Request-ID)")
    rating: Rating
    reason: Reason | None = Field(None, description="why down: wrong, incomplete, not_covered, other")
    # a plain default (pydantic copies it), not a factory: the tool argument model derived from this one
    # replaces defaults with null
    principle_ids: list[PrincipleId] = Field(
        [], max_length=10, description="the principles that should have come"
    )
    comment: str | None = Field(None, max_length=1000)


class FeedbackReceipt(BaseModel):
    request_id: str
    rating: Rating
    reason: Reason | None
    principle_ids: list[str]
    comment: str | None
    updated: bool = Field(description="true when this replaced an earlier rating of the same response")


def _iso_time(value: object) -> object:
    """A time as ISO 8601 text, as documented: a bare number (a Unix time pydantic would take) is refused,
    so that `until=0.5` is a 422 rather than 1970."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?\s*", value)
    ):
        raise ValueError("a time in ISO 8601 (2026-12-04T10:00:00Z), not a number")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]


class LogFilter(BaseModel):
    """Filters of every curator view (query parameters)."""

    model_config = ConfigDict(extra="forbid")

    since: IsoTime | None = Field(None, description="events at or after this time (ISO 8601)")
    until: IsoTime | None = Field(None, description="events before this time (ISO 8601)")
    operation: Operation | None = None
    surface: Surface | None = None
    key_name: str | None = Field(None, max_length=64, description="the caller's key name")
    limit: int = Field(50, ge=1, le=1000, description="clusters, principles or events at most")


class MissFilter(LogFilter):
    below: float = Field(
        0.6, ge=0, le=1, description="answered but less confident than this counts as missed"
    )


class ExportFilter(LogFilter):
    format: Literal["jsonl", "csv"] = Field("jsonl", description="JSON lines or CSV")
    max_events: int = Field(10_000, ge=1, le=100_000, description="events at most (newest first)")


class LoggedHit(BaseModel):
    principle_id: str
    rank: int
    score: float
    relevance: float | None


class LoggedEvent(BaseModel):
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
    hits: list[LoggedHit]
    rating: Rating | None = None
    reason: Reason | None = None
    principle_ids: list[str] = Field(default_factory=list, description="what the rater said should have come")
    comment: str | None = None


class Cluster(BaseModel):
    count: int = Field(description="events in the cluster")
    last_at: datetime
    texts: list[str] = Field(description="its distinct texts, newest first (at most 5)")
    request_ids: list[str] = Field(description="the newest events' request ids (at most 5)")
    operations: list[str]
    top_principle: str | None = Field(None, description="the principle most often ranked first for them")


class ClusterList(BaseModel):
    events: int = Field(description="unanswered or low-confidence events matching the filters")
    clusters: list[Cluster]


class Disliked(BaseModel):
    principle_id: str
    title: str
    downs: int = Field(description="👎 on responses that ranked it first")
    ups: int
    questions: list[str] = Field(description="the disliked questions, newest first (at most 5)")
    wanted: dict[str, int] = Field(description="principles the raters said should have come, with counts")


class DislikedList(BaseModel):
    principles: list[Disliked]


class PrincipleHits(BaseModel):
    principle_id: str
    title: str
    hits: int = Field(description="responses that ranked it (top 3)")
    first: int = Field(description="responses that ranked it first")
    questions: list[str] = Field(description="questions that hit it, newest first (at most 5)")


class PrincipleHitsList(BaseModel):
    principles: list[PrincipleHits]


class PhrasingRequest(_Body):
    request_id: RequestId
    principle_id: PrincipleId


class PhrasingAdded(BaseModel):
    file: str = Field(description="the corpus file written, relative to the corpus folder")
    principle_id: str
    text: str
    added: bool = Field(description="false when the principle already had this phrasing")


class ScopeRequest(_Body):
    request_id: RequestId
    in_scope: bool = Field(description="true: the articles cover it and it should be answered")


class ScopeLabelled(BaseModel):
    file: str
    id: str
    mode: str
    text: str
    in_scope: bool


class GapRequest(_Body):
    request_id: RequestId
    note: str | None = Field(None, max_length=1000, description="what topic is missing, in a curator's words")


class GapRecord(BaseModel):
    id: int
    at: datetime
    text: str
    note: str | None
    request_id: str | None


class GapList(BaseModel):
    gaps: list[GapRecord]
