"""The curated corpus: principles in YAML under corpus/, their quotes resolved to offsets in corpus/raw.

Two steps: `read_curated` turns the YAML into principle records (one producer among possible others,
such as automatic drafts), `validate` checks any set of records against the vocabulary, the groups, the
junk spans and each other. `load_corpus` does both for `kb build`.

A principle's source is given as verbatim quotes (`from`, optional `to`) so reviewers read text, not
numbers; the build turns them into code-point offsets and fails loudly, naming the file and entry, when a
quote is missing, ambiguous, or lands in a span marked as junk.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import CorpusError, describe_validation
from service.models import GroupInfo, Principle, Source, TypeSpec
from service.normalize import REPAIRS_FILE

__all__ = [
    "PHRASINGS_DIR",
    "Corpus",
    "Curated",
    "LoggedPhrasing",
    "corpus_digest",
    "load_corpus",
    "load_types",
    "read_curated",
    "resolve_quote",
    "validate",
]

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
# YAML folds a wrapped line into a space; between Chinese characters that space is an artefact
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+|\s+(?=[\u3000-\u9fff\uff00-\uffef])")


def _tidy(text: str) -> str:
    return _CJK_SPACE.sub("", text.strip())


class _Strict(BaseModel):
    # a typo in a YAML key must fail the build, not be silently dropped
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class QuoteSpan(_Strict):
    from_: str = Field(alias="from", min_length=4)
    to: str | None = Field(None, min_length=2)


class CuratedPrinciple(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    type: str
    title: str = Field(min_length=2, max_length=60)
    summary: str = Field(min_length=10, max_length=400)
    advice: str | None = Field(None, max_length=400)
    symptoms: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    group: str | None = None
    order: int | None = Field(None, ge=1)
    related: list[str] = Field(default_factory=list)
    fixed_by: list[str] = Field(default_factory=list)
    source: QuoteSpan
    # where the article itself states the advice; without it the advice is the curator's own
    advice_span: QuoteSpan | None = None
    # what the article announces here but does not give in its text (an image that did not survive)
    missing: str | None = Field(None, min_length=4, max_length=200)
    # what `kb add` wrote and how sure it was; the reviewer deletes an entry once checked (never read)
    generated: dict[str, Any] | None = None


class JunkSpan(_Strict):
    from_: str = Field(alias="from")
    to: str | None = None
    why: str


class CuratedFile(_Strict):
    doc: str
    title: str
    groups: list[GroupInfo] = Field(default_factory=list)
    junk: list[JunkSpan] = Field(default_factory=list)
    principles: list[CuratedPrinciple]
    generated: dict[str, Any] | None = None  # as on a principle: left by `kb add` for the reviewer


@dataclass(frozen=True)
class Corpus:
    principles: list[Principle]  # sorted by id
    types: list[TypeSpec]
    groups: list[GroupInfo]
    raw: dict[str, str]
    junk: dict[str, list[tuple[int, int]]]
    digest: str  # sha256 over every input file: the index is stale when this changes

    def by_id(self) -> dict[str, Principle]:
        return {p.id: p for p in self.principles}


def _read_yaml(path: Path) -> Any:
    where = f"{path.parent.name}/{path.name}"  # relative to the corpus: messages never show server paths
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise CorpusError(f"{where}: cannot read YAML{at}: {getattr(exc, 'problem', None) or exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{where}: cannot be read ({exc.__class__.__name__})") from exc


def _parse(model: type[BaseModel], data: Any, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise CorpusError(describe_validation(exc.errors(), prefix=f"{where}: ")) from exc


def resolve_quote(text: str, quote_from: str, quote_to: str | None, where: str) -> tuple[int, int]:
    """Offsets of the span from the start of `quote_from` to the end of the first `quote_to` after it."""
    start = text.find(quote_from)
    if start < 0:
        raise CorpusError(f"{where}: quote 'from' not found in the raw article: {quote_from!r}")
    if text.find(quote_from, start + 1) >= 0:
        raise CorpusError(f"{where}: quote 'from' occurs more than once, lengthen it: {quote_from!r}")
    if quote_to is None:
        return start, start + len(quote_from)
    end = text.find(quote_to, start + len(quote_from))
    if end < 0:
        raise CorpusError(f"{where}: quote 'to' not found after 'from': {quote_to!r}")
    return start, end + len(quote_to)


PHRASINGS_DIR = "phrasings"


def _inputs(root: Path) -> list[Path]:
    # the alias table and the calibration requests shape the adapted encoder and the confidence model
    names = ("types.yaml", REPAIRS_FILE, "aliases.yaml")
    tables = [root / name for name in names if (root / name).exists()]
    tables += (root / "calibration").glob("*.jsonl")
    tables += (root / PHRASINGS_DIR).glob("*.yaml")
    return sorted([*(root / "raw").glob("*.txt"), *(root / "principles").glob("*.yaml"), *tables])


def load_phrasings(root: Path, principles: list[Principle]) -> dict[str, list[str]]:
    """corpus/phrasings/*.yaml: principle id -> how users put it (rambling situations, colloquial
    paraphrases, jargon, keyword searches), written by people who saw the principles, never the system's
    output. An unknown id fails the build."""
    known = {p.id for p in principles}
    out: dict[str, list[str]] = {}
    for path in sorted((root / PHRASINGS_DIR).glob("*.yaml")):
        data = _read_yaml(path) or {}
        if not isinstance(data, dict):
            raise CorpusError(f"{PHRASINGS_DIR}/{path.name}: expected a mapping of principle id to texts")
        for pid, queries in data.items():
            if pid not in known:
                raise CorpusError(f"{PHRASINGS_DIR}/{path.name}: unknown principle id {pid!r}")
            if not isinstance(queries, list) or not all(_phrasing_text(q) for q in queries):
                raise CorpusError(
                    f"{PHRASINGS_DIR}/{path.name}: {pid}: expected a list of non-empty strings or of "
                    "{text, source, added} entries"
                )
            out.setdefault(pid, []).extend(_tidy(_phrasing_text(q)) for q in queries)
    return out


class LoggedPhrasing(_Strict):
    """A phrasing taken from the query log by a curator (`kb log phrasing`): its source and date say where
    it came from, for the review in git."""

    text: str = Field(min_length=1)
    source: str = Field(min_length=1, description="where it came from: query-log <request id>")
    added: date = Field(description="the day it was added, YYYY-MM-DD")
    by: str | None = Field(None, description="the curator's key name")


def _phrasing_text(entry: object) -> str:
    """An entry's text, or "" when it is neither a non-empty string nor a valid logged phrasing."""
    if isinstance(entry, str):
        return entry if entry.strip() else ""
    try:
        return LoggedPhrasing.model_validate(entry).text.strip()
    except ValidationError:
        return ""


def corpus_digest(root: Path) -> str:
    """sha256 over every input file: the index is stale when this changes."""
    h = hashlib.sha256()
    for p in _inputs(root):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def load_types(root: Path) -> list[TypeSpec]:
    return [_parse(TypeSpec, t, f"types.yaml[{i}]") for i, t in enumerate(_read_yaml(root / "types.yaml"))]


@dataclass(frozen=True)
class Curated:
    """What the curated YAML says, quotes resolved to offsets: principle records from one producer."""

    raw: dict[str, str]
    types: list[TypeSpec]
    groups: list[GroupInfo]
    principles: list[Principle]
    junk: dict[str, list[tuple[int, int]]]
    origin: dict[str, str]  # principle id -> the YAML file it came from, for messages


def read_curated(root: Path) -> Curated:
    """Load corpus/principles/*.yaml as principle records: parse, resolve quotes against corpus/raw.
    Checks only what the files themselves get wrong (YAML keys, quotes, documents); `validate` checks
    the records."""
    raw_dir = root / "raw"
    raw = {p.name: p.read_text(encoding="utf-8") for p in sorted(raw_dir.glob("*.txt"))}
    if not raw:
        raise CorpusError("raw/: no raw articles (*.txt)")
    curated: list[tuple[str, CuratedFile]] = []
    for path in sorted((root / "principles").glob("*.yaml")):
        curated.append((path.name, _parse(CuratedFile, _read_yaml(path), path.name)))
    junk: dict[str, list[tuple[int, int]]] = {}
    for fname, cf in curated:
        if cf.doc not in raw:
            raise CorpusError(f"{fname}: doc {cf.doc!r} is not in corpus/raw")
        for i, span in enumerate(cf.junk):
            where = f"{fname}: junk[{i}]"
            junk.setdefault(cf.doc, []).append(resolve_quote(raw[cf.doc], span.from_, span.to, where))
    principles: list[Principle] = []
    origin: dict[str, str] = {}
    for fname, cf in curated:
        text = raw[cf.doc]
        for cp in cf.principles:
            if cp.id in origin:
                raise CorpusError(f"{fname}: {cp.id}: duplicate id (also in {origin[cp.id]})")
            origin[cp.id] = fname
            principles.append(to_principle(cp, cf, text, fname))
    said = load_phrasings(root, principles)
    principles = [p.model_copy(update={"phrasings": said[p.id]}) if p.id in said else p for p in principles]
    groups = [g for _, cf in curated for g in cf.groups]
    return Curated(raw, load_types(root), groups, principles, junk, origin)


def to_principle(cp: CuratedPrinciple, cf: CuratedFile, text: str, where: str) -> Principle:
    """A curated principle as a record: its quotes resolved against its article's raw `text`."""
    start, end = resolve_quote(text, cp.source.from_, cp.source.to, f"{where}: {cp.id}")
    advice_at = None
    if cp.advice_span is not None:
        if not cp.advice:
            raise CorpusError(f"{where}: {cp.id}: advice_span without advice")
        a0, a1 = resolve_quote(text, cp.advice_span.from_, cp.advice_span.to, f"{where}: {cp.id}.advice_span")
        advice_at = Source(doc=cf.doc, title=cf.title, start=a0, end=a1, quote=text[a0:a1])
    return Principle(
        id=cp.id,
        type=cp.type,
        title=_tidy(cp.title),
        summary=_tidy(cp.summary),
        advice=_tidy(cp.advice) if cp.advice else None,
        symptoms=[_tidy(s) for s in cp.symptoms],
        questions=[_tidy(q) for q in cp.questions],
        keywords=[_tidy(k) for k in cp.keywords],
        group=cp.group,
        order=cp.order,
        related=cp.related,
        fixed_by=cp.fixed_by,
        advice_source=None if not cp.advice else "article" if advice_at else "curator",
        advice_citation=advice_at,
        missing=_tidy(cp.missing) if cp.missing else None,
        source=Source(doc=cf.doc, title=cf.title, start=start, end=end, quote=text[start:end]),
    )


def validate(
    principles: list[Principle],
    types: list[TypeSpec],
    groups: list[GroupInfo],
    junk: dict[str, list[tuple[int, int]]],
    origin: dict[str, str] | None = None,
) -> tuple[list[Principle], list[GroupInfo]]:
    """Check a set of principle records from any producer (curated YAML, drafts) against the type
    vocabulary and its flags, the groups, the junk spans and each other. Returns the records sorted by
    id with `related` made symmetric, and the groups with their sizes."""
    origin = origin or {}
    spec = {t.name: t for t in types}
    group_ids = {g.id for g in groups}
    if len(group_ids) != len(groups):
        raise CorpusError("a group id is defined twice across corpus/principles/*.yaml")
    seen: set[str] = set()
    for p in principles:
        where = f"{origin[p.id]}: {p.id}" if p.id in origin else p.id
        if p.id in seen:
            raise CorpusError(f"{where}: duplicate id")
        seen.add(p.id)
        t = spec.get(p.type)
        if t is None:
            raise CorpusError(f"{where}: unknown type {p.type!r}; known: {sorted(spec)}")
        if (t.advice_required and not p.advice) or len(p.symptoms) < t.min_symptoms:
            raise CorpusError(
                f"{where}: a {p.type} needs {'advice and ' if t.advice_required else ''}"
                f"at least {t.min_symptoms} symptoms"
            )
        if (p.group is None) != (p.order is None):
            raise CorpusError(f"{where}: group and order go together")
        if p.group is not None and p.group not in group_ids:
            raise CorpusError(f"{where}: unknown group {p.group!r}; define it under `groups:`")
        for js, je in junk.get(p.source.doc, []):
            if p.source.start < je and js < p.source.end:
                raise CorpusError(f"{where}: source span overlaps junk at {js}-{je}")
    _check_links(principles)
    sized = _check_groups(principles, groups)
    return sorted(_symmetric_related(principles), key=lambda p: p.id), sized


def load_corpus(root: Path) -> Corpus:
    """Load and validate everything under `root` (the corpus/ folder)."""
    cur = read_curated(root)
    principles, groups = validate(cur.principles, cur.types, cur.groups, cur.junk, cur.origin)
    return Corpus(principles, cur.types, groups, cur.raw, cur.junk, corpus_digest(root))


def _check_links(principles: list[Principle]) -> None:
    ids = {p.id for p in principles}
    for p in principles:
        for target in [*p.related, *p.fixed_by]:
            if target not in ids:
                raise CorpusError(f"{p.id}: links to unknown principle {target!r}")
            if target == p.id:
                raise CorpusError(f"{p.id}: links to itself")


def _check_groups(principles: list[Principle], groups: list[GroupInfo]) -> list[GroupInfo]:
    out = []
    ids = {p.id for p in principles}
    for g in groups:
        for o in g.overviews:
            if o not in ids:
                raise CorpusError(f"group {g.id}: overview {o!r} is not a principle")
        orders = sorted(p.order or 0 for p in principles if p.group == g.id)
        if orders != list(range(1, len(orders) + 1)):
            raise CorpusError(f"group {g.id}: member orders must be 1..n without gaps, got {orders}")
        out.append(g.model_copy(update={"size": len(orders)}))
    return sorted(out, key=lambda g: g.id)


def _symmetric_related(principles: list[Principle]) -> list[Principle]:
    # "the same point in two articles" is symmetric; curators write it once
    back: dict[str, set[str]] = {p.id: set(p.related) for p in principles}
    for p in principles:
        for t in p.related:
            back[t].add(p.id)
    return [p.model_copy(update={"related": sorted(back[p.id])}) for p in principles]
