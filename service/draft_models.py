"""Wire format of the curation routes and verbs: a draft's summary, the list of drafts, an upload, an
accept job that a client polls."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.models import IndexSummary

__all__ = ["AcceptJob", "ArticleUpload", "DraftInfo", "DraftList", "DraftSummary"]


class DraftSummary(BaseModel):
    article: str = Field(description="the article's name: its raw file without .txt")
    doc: str
    title: str
    principles: int
    by_type: dict[str, int]
    groups: int
    junk: int = Field(description="spans marked as junk")
    low_confidence: list[str] = Field(description="principles whose type or boundary is unsure")
    dropped: int = Field(0, description="passages left out: no unique quote (repeated word for word)")
    duplicates: list[str] = Field(default_factory=list, description="near-duplicates accepted with force")
    kept: bool = Field(False, description="the draft was edited by a person and kept as it is")


class DraftInfo(BaseModel):
    article: str
    doc: str
    principles: int
    open_items: int = Field(description="principles still carrying `generated:` (not yet checked)")
    edited: bool = Field(description="changed by a person since `kb add` wrote it")
    problem: str | None = None


class DraftList(BaseModel):
    drafts: list[DraftInfo]


class ArticleUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    text: str = Field(min_length=1, description="the article, as UTF-8 text")
    title: str | None = Field(None, min_length=1, max_length=120)
    force: bool = Field(False, description="add a near-duplicate anyway")


class AcceptJob(BaseModel):
    id: str
    article: str
    state: Literal["queued", "running", "done", "failed"]
    step: str = ""
    message: str = ""
    index: IndexSummary | None = None
