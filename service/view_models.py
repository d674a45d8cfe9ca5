"""Wire format of the reading views: an article split into segments, so that a client can show the
clean or the raw text with the cited spans highlighted and the junk greyed out, and a draft's principles
with their spans, for review. A client only draws these; which span is cited where is decided here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.models import DocumentInfo, LinkedPrinciple

__all__ = ["ArticleSegment", "ArticleView", "DraftDetail", "DraftEdit", "DraftPrinciple", "QuoteEdit"]


class ArticleSegment(BaseModel):
    """A run of the article inside which nothing changes: the same principles cite all of it, and it is
    all junk or none of it. Segments cover the article in order; a line break ends a segment."""

    start: int = Field(ge=0, description="code-point offset in the raw article, as in citations")
    end: int = Field(ge=0)
    raw: str = Field(description="raw[start:end], verbatim")
    text: str = Field(description="the same run as a person reads it (simplified, pinyin and junk repaired)")
    principles: list[str] = Field(description="ids of the principles whose source span covers this run")
    junk: bool = Field(description="marked as junk by the curator (ads, sign-ups, boilerplate)")


class ArticleView(DocumentInfo):
    segments: list[ArticleSegment]
    cited: list[LinkedPrinciple] = Field(description="the principles citing this article, in article order")


class DraftPrinciple(BaseModel):
    """A principle of a draft as `kb add` wrote it (or a person edited it), its span resolved."""

    id: str
    type: str
    title: str
    summary: str
    advice: str | None = None
    symptoms: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    group: str | None = None
    order: int | None = None
    quote_from: str = Field(description="the source's `from` quote")
    quote_to: str | None = Field(None, description="the source's `to` quote")
    start: int | None = Field(None, description="where the span starts; null when the quotes do not resolve")
    end: int | None = None
    problem: str | None = Field(None, description="why the span does not resolve, when it does not")
    generated: list[str] = Field(
        default_factory=list,
        description="fields still written by the machine and not yet checked (the keys of `generated:`)",
    )
    low_confidence: bool = Field(description="the drafter was unsure of the type or the boundary")
    type_confidence: float | None = Field(None, description="the classifier's confidence in `type`")
    type_choices: list[tuple[str, float]] = Field(
        default_factory=list, description="the classifier's top types, with confidence"
    )
    boundary_confidence: float | None = Field(None, description="the segmenter's confidence in the span")


class DraftDetail(BaseModel):
    article: str
    doc: str
    title: str
    edited: bool = Field(description="changed by a person since `kb add` wrote it")
    principles: list[DraftPrinciple]
    segments: list[ArticleSegment] = Field(description="the article, cut at every draft span and junk span")
    details: dict[str, Any] = Field(
        default_factory=dict, description="the draft's own `generated:` notes (title, groups, low_confidence)"
    )


class QuoteEdit(BaseModel):
    """New source boundaries: verbatim quotes (`from`, optional `to`), or code-point offsets."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(None, alias="from", min_length=4, max_length=400)
    to: str | None = Field(None, min_length=2, max_length=400)
    start: int | None = Field(None, ge=0, le=10_000_000)
    end: int | None = Field(None, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _one_way(self) -> QuoteEdit:
        quotes = self.from_ is not None
        offsets = self.start is not None and self.end is not None
        if quotes == offsets or (not quotes and (self.start is None) != (self.end is None)):
            raise ValueError("give either `from` (and optionally `to`) or both `start` and `end`")
        if self.to is not None and not quotes:
            raise ValueError("`to` goes with `from`")
        return self


class DraftEdit(BaseModel):
    """A reviewer's change to one draft principle: only the fields given change; each one given counts
    as checked, so its `generated:` entry goes."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(None, min_length=1, max_length=64)
    title: str | None = Field(None, min_length=2, max_length=60)
    summary: str | None = Field(None, min_length=10, max_length=400)
    source: QuoteEdit | None = None

    @model_validator(mode="after")
    def _something(self) -> DraftEdit:
        if not self.model_fields_set:
            raise ValueError("send at least one of type, title, summary, source")
        return self
