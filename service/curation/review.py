"""A draft under review (the web UI's 审阅 page, GET and PATCH /admin/drafts/...): each principle with its
span resolved in the article and what the machine wrote and was unsure of; and one principle's type,
title, summary or source changed, checked as `kb accept` would check it. The draft store itself (add,
list, accept, remove) is service/drafts.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from service.corpus import resolve_quote
from service.curation.locks import corpus_lock
from service.curation.models import DraftDetail, DraftEdit, DraftPrinciple
from service.curation.store import article_stem, check_draft, draft_path, dump_draft, is_edited, write_atomic
from service.errors import CorpusError, InputError, NotFoundError, describe_validation
from service.ingest.quotes import quote_span
from service.views import segment_text

__all__ = ["EDIT_LOCK_SECONDS", "draft_detail", "edit_draft"]

# a reviewer waiting at a page: during a build (an accept), say so soon (409) rather than hang
EDIT_LOCK_SECONDS = 10.0


def _read_draft(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path.name}: cannot read YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("principles"), list):
        raise CorpusError(f"{path.name}: not a draft (no `principles:` list)")
    return data


def _review_item(text: str, p: dict[str, Any], low: set[str]) -> DraftPrinciple:
    src = p.get("source") or {}
    start = end = None
    problem = None
    try:
        start, end = resolve_quote(text, str(src.get("from", "")), src.get("to"), str(p.get("id")))
    except CorpusError as exc:
        problem = exc.message
    gen = p.get("generated") or {}
    type_gen: dict[str, Any] = gen["type"] if isinstance(gen.get("type"), dict) else {}
    boundary = gen.get("boundary")
    return DraftPrinciple(
        id=str(p.get("id")),
        type=str(p.get("type")),
        title=str(p.get("title", "")),
        summary=str(p.get("summary", "")),
        advice=p.get("advice"),
        symptoms=list(p.get("symptoms") or []),
        questions=list(p.get("questions") or []),
        keywords=list(p.get("keywords") or []),
        group=p.get("group"),
        order=p.get("order"),
        quote_from=str(src.get("from", "")),
        quote_to=src.get("to"),
        start=start,
        end=end,
        problem=problem,
        generated=[k for k in gen if k != "boundary"] + (["source"] if "boundary" in gen else []),
        low_confidence=str(p.get("id")) in low,
        type_confidence=type_gen.get("confidence"),
        type_choices=[(str(t), float(c)) for t, c in type_gen.get("top3") or []],
        boundary_confidence=float(boundary) if isinstance(boundary, int | float) else None,
    )


def draft_detail(root: Path, article: str) -> DraftDetail:
    """A draft as a reviewer sees it: each principle with its span resolved in the article and what the
    machine wrote and was unsure of, and the article cut at every span (service/views.py)."""
    doc, path = draft_path(root, article)
    data = _read_draft(path)
    text = (root / "raw" / doc).read_text(encoding="utf-8")
    gen = data.get("generated") or {}
    low = set(gen.get("low_confidence") or [])
    items = [_review_item(text, p, low) for p in data["principles"] if isinstance(p, dict)]
    spans = {i.id: (i.start, i.end) for i in items if i.start is not None and i.end is not None}
    junk = []
    for j in data.get("junk") or []:
        try:
            junk.append(resolve_quote(text, str(j.get("from", "")), j.get("to"), "junk"))
        except CorpusError:
            continue  # a junk quote that no longer resolves greys nothing out; accepting says why
    return DraftDetail(
        article=article_stem(doc),
        doc=doc,
        title=str(data.get("title", "")),
        edited=is_edited(root, doc),
        principles=items,
        segments=segment_text(text, spans, junk),
        details=gen,
    )


def edit_draft(root: Path, article: str, principle_id: str, edit: DraftEdit) -> DraftDetail:
    """Change one draft principle's type, title, summary or source boundaries. Read, changed and written
    under the corpus lock, so an edit made meanwhile (another field, another principle, the YAML by hand)
    is kept; the whole draft is checked as `kb accept` would before anything is written. A field given
    counts as checked: its `generated:` entry goes."""
    with corpus_lock(root, timeout=EDIT_LOCK_SECONDS):
        doc, path = draft_path(root, article)
        data = _read_draft(path)
        text = (root / "raw" / doc).read_text(encoding="utf-8")
        target = next(
            (p for p in data["principles"] if isinstance(p, dict) and p.get("id") == principle_id), None
        )
        if target is None:
            raise NotFoundError(f"no principle {principle_id!r} in the draft of {doc}")
        checked = []
        for name in ("type", "title", "summary"):
            value = getattr(edit, name)
            if value is not None:
                target[name] = value
                checked.append(name)
        if edit.source is not None:
            target["source"] = _new_source(text, edit)
            checked.append("boundary")
        gen = target.get("generated")
        if isinstance(gen, dict):
            for name in checked:
                gen.pop(name, None)
            if not gen:
                del target["generated"]
        try:
            check_draft(root, data, text, f"drafts/{article_stem(doc)}.yaml")
        except (ValidationError, CorpusError) as exc:
            message = (
                describe_validation(exc.errors(), prefix=f"{principle_id}: ")
                if isinstance(exc, ValidationError)
                else exc.message
            )
            raise InputError(f"not saved: {message}") from exc
        # the `.sha256` mark stays as `kb add` wrote it: the draft now counts as edited by a person
        write_atomic(path, dump_draft(data))
    return draft_detail(root, article)


def _new_source(text: str, edit: DraftEdit) -> dict[str, Any]:
    src = edit.source
    assert src is not None
    if src.from_ is not None:
        try:  # a quote that does not resolve is the reviewer's input to fix, not a broken corpus
            resolve_quote(text, src.from_, src.to, "source")
        except CorpusError as exc:
            raise InputError(exc.message) from exc
        return {"from": src.from_, "to": src.to} if src.to is not None else {"from": src.from_}
    start, end = src.start or 0, src.end or 0
    if not 0 <= start < end <= len(text):
        raise InputError(f"source: {start}-{end} is not a span of the article (0-{len(text)})")
    quotes = quote_span(text, start, end)
    if quotes is None:
        raise InputError(f"source: {start}-{end} has no unique quote (its text repeats word for word)")
    frm, to = quotes
    return {"from": frm, "to": to} if to is not None else {"from": frm}
