"""Wire format of the reading views: an article split into segments, so that a client can show the
clean or the raw text with the cited spans highlighted and the junk greyed out. A client only draws
these; which span is cited where is decided here. A draft under review: service/curation/models.py."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.models import DocumentInfo, LinkedPrinciple

__all__ = ["ArticleSegment", "ArticleView"]


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
