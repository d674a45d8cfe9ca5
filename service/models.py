"""The wire format: every request and response the HTTP API, the CLI (--json) and the MCP tools speak.

Limits live here as constants so the OpenAPI schema, the error messages and the README agree.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_PAGE",
    "MAX_BATCH_QUERIES",
    "MAX_FILTER_ITEMS",
    "MAX_PAGE",
    "MAX_QUERY_CHARS",
    "MAX_RANGE_CHARS",
    "MAX_SITUATION_CHARS",
    "AskRequest",
    "AskResponse",
    "Citation",
    "CitedSource",
    "DiagnoseHit",
    "DiagnoseRequest",
    "DiagnoseResponse",
    "Document",
    "DocumentInfo",
    "DocumentList",
    "DocumentQuery",
    "DocumentRange",
    "ErrorBody",
    "ErrorDetail",
    "FilterList",
    "GroupInfo",
    "GroupList",
    "Health",
    "Hit",
    "IndexSummary",
    "LinkedPrinciple",
    "Match",
    "Principle",
    "PrincipleBrief",
    "PrincipleList",
    "PrincipleQuery",
    "QueryText",
    "Role",
    "SearchBatchRequest",
    "SearchBatchResponse",
    "SearchRequest",
    "SearchResponse",
    "SituationText",
    "Source",
    "ToolCallResponse",
    "ToolHit",
    "ToolList",
    "TypeInfo",
    "TypeList",
    "TypeSpec",
    "clean_curated_line",
    "clean_curated_text",
]

MAX_QUERY_CHARS = 500
MAX_SITUATION_CHARS = 2000
MAX_FILTER_ITEMS = 20
MAX_BATCH_QUERIES = 32
MAX_RANGE_CHARS = 4000
DEFAULT_PAGE = 50
MAX_PAGE = 500

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _visible(value: str) -> bool:
    # zero-width spaces and joiners, a BOM, direction marks: format characters (Cf) that show nothing
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in value)


def _clean_text(value: str) -> str:
    if not _visible(value):
        raise ValueError("must contain some text, not only whitespace or invisible characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


# bidirectional embeddings, overrides and isolates: they reorder what a reviewer's page and a terminal show
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def clean_curated_text(value: str) -> str:
    """A curated field (a summary, a quote): checked as a query is, and no bidirectional overrides."""
    if _BIDI.search(value):
        raise ValueError("must not contain bidirectional overrides (U+202A-U+202E, U+2066-U+2069)")
    if re.search("[\x80-\x9f]", value):  # C1 controls: a terminal reads \x9b as ESC [
        raise ValueError("must not contain control characters")
    return _clean_text(value)


def clean_curated_line(value: str) -> str:
    """A curated one-line field (a title, a file name): a curated text without line breaks or tabs."""
    if re.search(r"[\t\n\r\u2028\u2029\x85]", value):
        raise ValueError("must be one line (no line breaks or tabs)")
    return clean_curated_text(value)


QueryText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS), AfterValidator(_clean_text)]
SituationText = Annotated[
    str, Field(min_length=1, max_length=MAX_SITUATION_CHARS), AfterValidator(_clean_text)
]
FilterList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=MAX_FILTER_ITEMS)
]


class _Request(BaseModel):
    # an unknown field is almost always a typo ("q" for "query"): say so instead of ignoring it;
    # strict: "k": "5" or "k": true is a client bug, not a number
    model_config = ConfigDict(extra="forbid", strict=True)


class Source(BaseModel):
    """Where a principle stands in its article: `quote == raw[start:end]` (code-point offsets)."""

    doc: str = Field(description="file name under corpus/raw")
    title: str = Field(description="the article's title")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str


class CitedSource(Source):
    """A hit's source: the raw quote, for checking offsets, and the same span as a person reads it."""

    text: str = Field(
        description="raw[start:end] normalised for reading: simplified, pinyin annotations removed, "
        "look-alike characters and spun words repaired; `quote` stays the exact raw text"
    )


Role = Literal["lead", "member", "linked", "context"]
AdviceSource = Literal["article", "curator"]
ADVICE_SOURCES = (
    "article: the article itself says what to do, at advice_citation; curator: the curator's own "
    "advice drawn from the article's reasoning (shown as 整理者建议), not a quote"
)
# the provenance fields every shape of a principle carries (Principle, Hit, ToolHit), described once
AdviceSourceField = Annotated[
    AdviceSource | None, Field(description="who states the advice (null without advice): " + ADVICE_SOURCES)
]
ADVICE_CITATION = "where the article states the advice (advice_source article only)"
MissingNote = Annotated[
    str | None,
    Field(
        description="what the article announces here but does not give in its text (an image, a table "
        "of contents only)"
    ),
]


class TypeInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    label: str
    description: str


class TypeSpec(TypeInfo):
    """A type as corpus/types.yaml defines it: what GET /types serves, plus how the code treats it and
    what curators must write (neither is served)."""

    curator_note: str | None = Field(None, description="what a curator must write for this type (not served)")

    advice_required: bool = Field(False, description="a principle of this type must carry advice")
    min_symptoms: int = Field(0, ge=0, description="how many symptoms a principle of this type must list")
    diagnosed: bool = Field(False, description="diagnose ranks this type against situations")
    advice_in_answer: bool = Field(False, description="ask's answer quotes its advice even when not first")


class GroupInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str = Field(description="the list this group is, e.g. 社群定位的三个步骤")
    ordered: bool = Field(True, description="whether the order is part of the meaning (steps) or not (a set)")
    overviews: list[str] = Field(default_factory=list, description="principles that introduce the list")
    size: int | None = Field(None, description="how many members the article names; filled in by the build")
    missing: str | None = Field(
        None,
        description="what of this list the article does not give in its text (an image, a table of contents "
        "only), said in answers instead of a count that would contradict it",
    )


class Principle(BaseModel):
    """One curated principle, as stored in the index and returned by GET /principles/{id}."""

    id: str
    type: str
    title: str
    summary: str
    advice: str | None = None
    symptoms: list[str] = Field(default_factory=list, description="how an operator describes this pitfall")
    phrasings: list[str] = Field(
        default_factory=list,
        description="how users put it, in their own styles (corpus/phrasings/): indexed beside the questions",
    )
    questions: list[str] = Field(
        default_factory=list, description="questions an operator would ask that this principle answers"
    )
    keywords: list[str] = Field(default_factory=list)
    group: str | None = None
    order: int | None = None
    related: list[str] = Field(default_factory=list, description="the same point made elsewhere")
    fixed_by: list[str] = Field(default_factory=list, description="practices that fix this pitfall")
    advice_source: AdviceSourceField = None
    advice_citation: Source | None = Field(None, description=ADVICE_CITATION)
    missing: MissingNote = None
    source: Source


class LinkedPrinciple(BaseModel):
    id: str
    type: str
    title: str


class PrincipleBrief(LinkedPrinciple):
    """The fields every projection of a principle carries (a hit, a tool's source), declared once."""

    summary: str
    advice: str | None = Field(None, description="what to do, where the principle gives advice")
    advice_source: AdviceSourceField = None


class Hit(PrincipleBrief):
    advice_citation: CitedSource | None = Field(None, description=ADVICE_CITATION)
    missing: MissingNote = None
    group: str | None = None
    order: int | None = None
    rank: int = Field(1, ge=1, description="position in the response, 1..n; [n] in an answer cites rank n")
    role: Role = Field(
        "lead",
        description="why the hit is there. lead: the best match, what the answer rests on; member: an item "
        "of the list the answer is, or of the short list the lead introduces; linked: placed because "
        "the hit named in `linked_from` links to it (the same point elsewhere, a practice that fixes "
        "it); context: ranked after those by its own relevance",
    )
    linked_from: str | None = Field(
        None, description="the id of the hit that placed this one (role linked, or member of the lead's list)"
    )
    score: float = Field(
        description="this principle's own fused relevance for the query (never borrowed from the hit "
        "that placed it), higher is better; comparable within one response only"
    )
    scores: dict[str, float | None] = Field(
        description="each retrieval signal's own score, by name; null when that signal did not find the "
        "principle. dense: cosine similarity of the best-matching vector, -1..1; bm25: BM25 score over "
        "jieba tokens, 0..∞"
    )
    relevance: float | None = Field(
        None,
        ge=0,
        le=1,
        description="(/search) how likely the hit is relevant, comparable across requests: the confidence "
        "model's probability that the articles cover the query (fitted at `kb build` on labelled "
        "requests) times the hit's fused score relative to the top hit's. The top hit's relevance is "
        "that probability: 0.5 means as likely covered as not, the point where /ask starts answering",
    )
    source: CitedSource


class Citation(BaseModel):
    doc: str
    article: str
    start: int
    end: int
    quote: str = Field(description="raw[start:end], verbatim: what the offsets point to")
    text: str = Field(
        description="the start of the cited passage, readable (simplified, pinyin and junk repaired)"
    )


class ToolHit(PrincipleBrief):
    """A principle as a chat-assistant tool returns it: short, with a citation."""

    missing: MissingNote = None
    citation: Citation


class Match(BaseModel):
    """A part of the user's own text, with offsets into the submitted string."""

    text: str
    start: int
    end: int


class DiagnoseHit(Hit):
    matched: list[Match] = Field(description="the parts of the situation that point to this pitfall")
    why: str = Field(description="which symptom or description of the pitfall the matched text resembles")
    fixed_by: list[LinkedPrinciple] = Field(
        default_factory=list, description="practices that fix it (the same name as on GET /principles)"
    )
    related: list[LinkedPrinciple] = Field(default_factory=list, description="the same pitfall elsewhere")


MinRelevance = Annotated[
    float,
    Field(ge=0, le=1, description="drop hits whose `relevance` is below this (0: keep all k)"),
]


class SearchRequest(_Request):
    query: QueryText
    k: int = Field(10, ge=1, le=50)
    min_relevance: MinRelevance = 0.0
    types: FilterList | None = Field(None, description="keep only these principle types (see GET /types)")
    docs: FilterList | None = Field(
        None, description="keep only principles from these documents: short ids (000) or raw file names"
    )


class SearchResponse(BaseModel):
    query: str
    answered: bool = Field(
        description="false when the knowledge base covers nothing like the query: the hits are then only "
        "the closest texts, not answers"
    )
    confidence: float = Field(
        ge=0, le=1, description="probability that the articles cover the query (the confidence model)"
    )
    hits: list[Hit]
    request_id: str | None = Field(
        None, description="this response's id (also X-Request-ID): rate it with POST /feedback"
    )


class AskRequest(_Request):
    question: QueryText
    k: int = Field(5, ge=1, le=20)


Coverage = Literal["answered", "partial", "not_covered"]


class AskResponse(BaseModel):
    question: str
    answered: bool = Field(description="false when the knowledge base has nothing on the question")
    coverage: Coverage = Field(
        description="answered; partial: the articles cover part of the question (`uncovered` names the "
        "rest); not_covered: nothing (`suggestions` are the closest topics the articles do cover)"
    )
    confidence: float = Field(
        ge=0,
        le=1,
        description="probability that the articles cover the question, from a model fitted at `kb build` "
        "on labelled requests; answered when it reaches the threshold (0.5 unless KB_ANSWER_THRESHOLD)",
    )
    brief: str = Field(
        description="the direct answer first: one to three sentences (at most 150 characters) taken from "
        "the leading principles' own text, each cited [n]"
    )
    answer: str = Field(
        description="the brief, then the list (in order) or the supporting points by title, then notes "
        "(what the articles do not give, what part of the question is not covered); [n] cites hits[n-1], "
        "whose summaries, advice and citations are not repeated here"
    )
    uncovered: list[str] = Field(
        default_factory=list, description="the parts of the question the articles do not cover (partial)"
    )
    suggestions: list[LinkedPrinciple] = Field(
        default_factory=list, description="closest covered topics, when the question is not covered"
    )
    total: int | None = Field(
        None, description="how many members the list has, when the answer is a list (may exceed k)"
    )
    truncated: bool = Field(False, description="true when the list is longer than k: only k hits come back")
    hits: list[Hit]
    request_id: str | None = Field(
        None, description="this response's id (also X-Request-ID): rate it with POST /feedback"
    )


class DiagnoseRequest(_Request):
    situation: SituationText
    k: int = Field(5, ge=1, le=20)
    pitfalls_only: bool = Field(
        False,
        description="only pitfalls; by default every type is ranked (a practice or a description can answer "
        "a situation as well as a pitfall) and the lead is followed by what it links to: the same point in "
        "another article and the practices that fix it",
    )


class DiagnoseResponse(BaseModel):
    situation: str
    answered: bool = Field(
        description="false when the text is not a community-operation situation the articles cover; "
        "`message` then says so and there are no hits"
    )
    confidence: float = Field(
        ge=0, le=1, description="probability that the articles cover the situation (the confidence model)"
    )
    message: str | None = Field(None, description="why nothing was diagnosed, when answered is false")
    reading: str | None = Field(
        None,
        description="a one-line reading of the situation (主要是三个问题：…), each problem cited [n]; "
        "null when answered is false",
    )
    hits: list[DiagnoseHit]
    request_id: str | None = Field(
        None, description="this response's id (also X-Request-ID): rate it with POST /feedback"
    )


class PrincipleQuery(BaseModel):
    """GET /principles' filters and page (query parameters; an unknown one is a 422, like an unknown body
    field)."""

    model_config = ConfigDict(extra="forbid")

    type: str | None = Field(None, min_length=1, max_length=64, description="a type name (GET /types)")
    doc: str | None = Field(
        None, min_length=1, max_length=64, description="a document: short id (000) or raw file name"
    )
    group: str | None = Field(None, min_length=1, max_length=100, description="a list (group) id")
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="principles per page")
    offset: int = Field(0, ge=0, le=100_000, description="how many matching principles to skip")


class PrincipleList(BaseModel):
    total: int = Field(description="how many principles match the filters, over all pages")
    limit: int = DEFAULT_PAGE
    offset: int = 0
    next_offset: int | None = Field(None, description="the offset of the next page; null on the last one")
    principles: list[Principle]


class DocumentInfo(BaseModel):
    """One raw article of the corpus."""

    id: str = Field(description="short id, e.g. 000: the file name's prefix; filters accept either")
    doc: str = Field(description="file name under corpus/raw, as in citations")
    title: str
    chars: int = Field(description="length of the raw text in code points (citation offsets count these)")
    sha256: str = Field(description="of the raw file's bytes")
    principles: int = Field(description="how many principles cite this article")


class DocumentList(BaseModel):
    total: int
    documents: list[DocumentInfo]


class DocumentRange(BaseModel):
    start: int
    end: int
    raw: str = Field(description="raw[start:end], verbatim: what citations quote")
    normalized: str = Field(description="the same range in the index's normal form (simplified, repaired)")


class Document(DocumentInfo):
    text: str | None = Field(None, description="the whole raw text; null when a range was asked for")
    range: DocumentRange | None = Field(None, description="the asked-for range (?start=&end=)")


class DocumentQuery(BaseModel):
    """GET /documents/{id}'s range: code-point offsets, as in citations; at most MAX_RANGE_CHARS long."""

    model_config = ConfigDict(extra="forbid")

    start: int | None = Field(None, ge=0, le=10_000_000, description="first code point (default 0)")
    end: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description=f"end, exclusive (default start + {MAX_RANGE_CHARS} or the end)",
    )


class SearchBatchRequest(_Request):
    """Several queries with the same options, encoded together in one trip to the encoder."""

    queries: list[QueryText] = Field(min_length=1, max_length=MAX_BATCH_QUERIES)
    k: int = Field(10, ge=1, le=50)
    min_relevance: MinRelevance = 0.0
    types: FilterList | None = Field(None, description="keep only these principle types (see GET /types)")
    docs: FilterList | None = Field(None, description="keep only principles from these documents")

    def one(self, query: str) -> SearchRequest:
        """The search of one of the queries, with the batch's options (all validated already)."""
        return SearchRequest.model_construct(
            query=query, k=self.k, min_relevance=self.min_relevance, types=self.types, docs=self.docs
        )


class SearchBatchResponse(BaseModel):
    results: list[SearchResponse] = Field(description="one per query, in the order given")


class TypeList(BaseModel):
    types: list[TypeInfo]


class GroupList(BaseModel):
    """The lists the articles make (steps, sets of pitfalls...): GET /principles?group= gives members."""

    groups: list[GroupInfo]


class IndexSummary(BaseModel):
    model: str
    dimension: int
    principles: int
    vectors: int
    corpus_sha256: str
    built_at: str


class Health(BaseModel):
    status: str
    principles: int
    model: str
    index: IndexSummary
    worker: int = Field(description="process id of the `kb serve` worker that answered")
    loaded_at: str = Field(description="when this worker loaded the index it serves (UTC, ISO 8601)")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ToolCallResponse(BaseModel):
    name: str
    result: dict[str, Any] = Field(description="the tool's structured result, as MCP returns it")


class ToolList(BaseModel):
    tools: list[dict[str, Any]] = Field(description="OpenAI function-calling tool definitions (strict mode)")
