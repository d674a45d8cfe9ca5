"""Wire format of the curation routes and verbs: a draft's summary, the list of drafts, an upload, a draft
under review and a reviewer's edit, what a removal mended, a publish job that a client polls. Curated text
fields are checked as queries are, and refuse bidirectional overrides too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from service.models import IndexSummary, clean_curated_line, clean_curated_text
from service.view_models import ArticleSegment

__all__ = [
    "ArticleUpload",
    "DraftDetail",
    "DraftEdit",
    "DraftInfo",
    "DraftList",
    "DraftPrinciple",
    "DraftSummary",
    "Job",
    "QuoteEdit",
    "RemoveReport",
]


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
    title: str = ""
    principles: int
    open_items: int = Field(description="principles still carrying `generated:` (not yet checked)")
    edited: bool = Field(description="changed by a person since `kb add` wrote it")
    status: Literal["pending", "publishing"] = Field(
        "pending",
        description="pending: not published, never served; publishing: an accept job (`job`) publishes it",
    )
    job: str | None = Field(None, description="the id of the job publishing it, while one does")
    problem: str | None = Field(None, description="what is wrong with the draft file, when something is")


class DraftList(BaseModel):
    drafts: list[DraftInfo]


CuratedLine = Annotated[str, AfterValidator(clean_curated_line)]
CuratedText = Annotated[str, AfterValidator(clean_curated_text)]


class ArticleUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: CuratedLine = Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00-\x1f]+$")
    text: str = Field(min_length=1, description="the article, as UTF-8 text")
    title: CuratedLine | None = Field(None, min_length=1, max_length=120)
    force: bool = Field(False, description="add a near-duplicate anyway")


class RemoveReport(BaseModel):
    """What `kb remove` (DELETE /admin/articles/{article}) took out, so that the corpus still builds."""

    article: str
    doc: str
    removed: list[str] = Field(default_factory=list, description="files deleted, relative to corpus/")
    links: list[str] = Field(
        default_factory=list,
        description="links of other principles to its principles, cut (file: id.field -> id)",
    )
    phrasings: list[str] = Field(default_factory=list, description="phrasings of its principles, cut")
    labelled: list[str] = Field(
        default_factory=list, description="labelled requests naming it, dropped from corpus/calibration"
    )


class Job(BaseModel):
    """A publish job (accept a draft, remove an article): its build runs in a child process; the record is
    a JSON file under KB_DATA_DIR/jobs, so it outlives a crash of either process."""

    id: str
    kind: Literal["accept", "remove"] = "accept"
    article: str
    state: Literal["queued", "running", "built", "done", "failed", "interrupted"] = Field(
        description="queued, running (`step` says which), built (reloading), done, failed (`message` says "
        "why; nothing was published), interrupted (a process died: the corpus was put back; retry)"
    )
    step: str = ""
    message: str = ""
    index: IndexSummary | None = None
    removed: RemoveReport | None = None
    created: float = Field(0.0, description="Unix time the job was started")
    updated: float = 0.0
    pid: int | None = Field(None, description="the child process doing the work, while it runs")
    server_pid: int | None = None
    boot_id: str = Field("", description="the serving process that started it (a new one after a restart)")
    retry_of: str | None = Field(None, description="the job this one retries")


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

    from_: CuratedText | None = Field(None, alias="from", min_length=4, max_length=400)
    to: CuratedText | None = Field(None, min_length=2, max_length=400)
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

    type: CuratedLine | None = Field(None, min_length=1, max_length=64)
    title: CuratedLine | None = Field(None, min_length=2, max_length=60)
    summary: CuratedText | None = Field(None, min_length=10, max_length=400)
    source: QuoteEdit | None = None

    @model_validator(mode="after")
    def _something(self) -> DraftEdit:
        if not self.model_fields_set:
            raise ValueError("send at least one of type, title, summary, source")
        return self
