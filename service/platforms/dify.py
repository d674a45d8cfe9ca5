"""The knowledge base as an external knowledge source (Dify's External Knowledge API): what a
knowledge_id names, which principles a metadata condition keeps, and what each record says.

A knowledge_id is a scope: `all`, a principle type (`pitfall`) or an article (`004` or its file name).
Metadata conditions filter on the fields the principles have (type, doc, group); a condition on any other
name is ignored, as Dify's documentation lets a service do, so that a Dify app written for another
knowledge source keeps working. The search itself is /search's (same ranking, same relevance), so Dify's
score threshold means what min_relevance means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import ValidationError

from service.catalog import Catalog, doc_id
from service.errors import InputError, UnknownKnowledgeError, describe_validation
from service.hits import short_quote
from service.kb import KnowledgeBase
from service.links import article_link
from service.models import Hit, Principle, SearchRequest
from service.platforms.models import (
    Condition,
    DifyRecord,
    DifyRecordMetadata,
    DifyRetrievalRequest,
    MetadataCondition,
)
from service.store.context import CallContext

__all__ = ["ALL", "DEFAULT_TOP_K", "FIELDS", "OPERATORS", "knowledge_ids", "matching", "records", "retrieve"]

ALL = "all"
DEFAULT_TOP_K = 5
# how much of the cited passage a record carries (an LLM reads it; the link opens the whole)
PASSAGE_CHARS = 400

# the metadata fields a condition may name, and how each is read off a principle
FIELDS: dict[str, Callable[[Principle], str | None]] = {
    "type": lambda p: p.type,
    "doc": lambda p: p.source.doc,
    "group": lambda p: p.group,
}


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _text(value: object) -> str:
    if isinstance(value, list):
        raise InputError("this operator compares with one value, not a list")
    return "" if value is None else str(value)


# Dify's operators on text fields; the numeric and date ones (>, <, ≥, ≤, before, after) do not apply
OPERATORS: dict[str, Callable[[str | None, object], bool]] = {
    "is": lambda f, v: f == _text(v),
    "=": lambda f, v: f == _text(v),
    "is not": lambda f, v: f != _text(v),
    "≠": lambda f, v: f != _text(v),
    "in": lambda f, v: f in _as_list(v),
    "not in": lambda f, v: f not in _as_list(v),
    "contains": lambda f, v: f is not None and _text(v) in f,
    "not contains": lambda f, v: f is None or _text(v) not in f,
    "start with": lambda f, v: f is not None and f.startswith(_text(v)),
    "end with": lambda f, v: f is not None and f.endswith(_text(v)),
    "empty": lambda f, v: not f,
    "not empty": lambda f, v: bool(f),
}


def knowledge_ids(catalog: Catalog) -> list[str]:
    """Every knowledge_id the served index answers: all, each type, each article's short id."""
    return [ALL, *sorted(catalog.type_names), *catalog.doc_ids]


def _scope(catalog: Catalog, knowledge_id: str) -> tuple[list[str] | None, list[str] | None]:
    """(types, docs) of a knowledge_id; an unknown one is Dify's 2001."""
    if knowledge_id == ALL:
        return None, None
    if knowledge_id in catalog.type_names:
        return [knowledge_id], None
    if knowledge_id in catalog.doc_ids or knowledge_id in catalog.doc_names:
        return None, [knowledge_id]
    known = ", ".join(knowledge_ids(catalog))
    raise UnknownKnowledgeError(f"knowledge_id: no knowledge {knowledge_id!r}; known: {known}")


def _value(catalog: Catalog, name: str, value: object) -> object:
    """A doc condition's value may name the article by short id, as the filters everywhere accept."""
    if name != "doc":
        return value
    if isinstance(value, list):
        return [catalog.doc_ids.get(str(v), v) for v in value]
    return catalog.doc_ids.get(str(value), value) if value is not None else None


def _holds(catalog: Catalog, cond: Condition, where: str) -> set[str] | None:
    """The ids a condition keeps, or None when it names no field we have (ignored)."""
    names = [n for n in _as_list(cond.name) if n in FIELDS]
    if not names:
        return None
    check = OPERATORS.get(cond.comparison_operator)
    if check is None:
        raise InputError(
            f"{where}.comparison_operator: {cond.comparison_operator!r} does not apply to {', '.join(names)} "
            f"(text fields); use one of: {', '.join(OPERATORS)}"
        )
    kept: set[str] = set()
    for name in names:
        value = _value(catalog, name, cond.value)
        try:
            kept |= {p.id for p in catalog.principles if check(FIELDS[name](p), value)}
        except InputError as exc:
            raise InputError(f"{where}.value: {exc.message}") from exc
    return kept


def matching(catalog: Catalog, condition: MetadataCondition | None) -> set[str] | None:
    """The ids the metadata condition keeps; None when it keeps everything (absent, or every condition
    names a field we do not have)."""
    if condition is None or not condition.conditions:
        return None
    sets = [
        s
        for i, c in enumerate(condition.conditions)
        if (s := _holds(catalog, c, f"metadata_condition.conditions.{i}")) is not None
    ]
    if not sets:
        return None
    if condition.logical_operator == "or":
        return set().union(*sets)
    return set.intersection(*sets)


def _content(hit: Hit) -> str:
    """What an LLM reads of one principle: what it says, what to do and who says so, the passage."""
    lines = [hit.title, hit.summary]
    if hit.advice:
        who = "文章原话" if hit.advice_source == "article" else "整理者根据文章归纳,非原文"
        lines.append(f"建议({who}):{hit.advice}")
    if hit.missing:
        lines.append(f"注:{hit.missing}")
    lines.append(f"原文(《{hit.source.title}》):{short_quote(hit.source.quote, PASSAGE_CHARS)}")
    return "\n".join(lines)


def records(hits: Sequence[Hit], base_url: str) -> list[DifyRecord]:
    return [
        DifyRecord(
            content=_content(h),
            score=h.relevance or 0.0,
            title=f"{h.title}(《{h.source.title}》)",
            metadata=DifyRecordMetadata(
                id=h.id,
                type=h.type,
                doc=h.source.doc,
                doc_id=doc_id(h.source.doc),
                article=h.source.title,
                start=h.source.start,
                end=h.source.end,
                group=h.group,
                advice_source=h.advice_source,
                url=article_link(base_url, h.source, h.id),
            ),
        )
        for h in hits
    ]


def retrieve(
    kb: KnowledgeBase, req: DifyRetrievalRequest, base_url: str, ctx: CallContext | None = None
) -> list[DifyRecord]:
    """/search over the knowledge_id's scope and the condition's principles, as Dify records (recorded
    in the query log under `ctx`)."""
    catalog = kb.index.catalog
    types, docs = _scope(catalog, req.knowledge_id)
    within = matching(catalog, req.metadata_condition)
    setting = req.retrieval_setting
    try:
        search = SearchRequest(
            query=req.query,
            k=setting.top_k or DEFAULT_TOP_K,
            min_relevance=setting.score_threshold or 0.0,
            types=types,
            docs=docs,
        )
    except ValidationError as exc:  # e.g. a query of only whitespace or with control characters
        raise InputError(describe_validation(exc.errors())) from exc
    if within is not None and not within:
        return []
    return records(kb.search(search, within=within, ctx=ctx).hits, base_url)
