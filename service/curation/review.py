"""A draft under review (the web UI's 审阅 page, GET and PATCH /admin/drafts/...): each principle with its
span resolved in the article and what the machine wrote and was unsure of; and one principle's type,
title, summary or source changed, checked as `kb accept` would check it. The draft store itself (add,
list, accept, remove) is service/curation/store.py. A broken draft file is named with a 4xx, never a
500; an edit is checked whole before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.corpus import resolve_quote
from service.curation.locks import corpus_lock
from service.curation.models import DraftDetail, DraftEdit, DraftPrinciple
from service.curation.store import (
    Limits,
    check_draft,
    draft_paths,
    dump_draft,
    is_edited,
    read_draft,
    refresh_summary,
    write_atomic,
)
from service.errors import BusyError, CorpusError, DraftInvalidError, InputError, NotFoundError
from service.ingest.quotes import quote_span
from service.views import segment_text

__all__ = ["draft_detail", "edit_draft"]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


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
    confidence = type_gen.get("confidence")
    choices = type_gen.get("top3")
    # what a person may have mistyped by hand is shown as far as it makes sense, never a 500
    return DraftPrinciple(
        id=str(p.get("id")),
        type=str(p.get("type")),
        title=str(p.get("title", "")),
        summary=str(p.get("summary", "")),
        advice=str(p["advice"]) if p.get("advice") is not None else None,
        symptoms=_strings(p.get("symptoms")),
        questions=_strings(p.get("questions")),
        keywords=_strings(p.get("keywords")),
        group=str(p["group"]) if p.get("group") is not None else None,
        order=p["order"] if isinstance(p.get("order"), int) else None,
        quote_from=str(src.get("from", "")),
        quote_to=str(src["to"]) if src.get("to") is not None else None,
        start=start,
        end=end,
        problem=problem,
        generated=[str(k) for k in gen if k != "boundary"] + (["source"] if "boundary" in gen else []),
        low_confidence=str(p.get("id")) in low,
        type_confidence=float(confidence) if isinstance(confidence, int | float) else None,
        type_choices=[
            (str(c[0]), float(c[1]))
            for c in (choices if isinstance(choices, list) else [])
            if isinstance(c, list | tuple) and len(c) == 2 and isinstance(c[1], int | float)
        ],
        boundary_confidence=float(boundary) if isinstance(boundary, int | float) else None,
    )


def draft_detail(root: Path, article: str) -> DraftDetail:
    """A draft as a reviewer sees it: each principle with its span resolved in the article and what the
    machine wrote and was unsure of, and the article cut at every span (service/views.py)."""
    paths = draft_paths(root, article)
    data = read_draft(paths)
    text = paths.text.read_text(encoding="utf-8")
    gen = data.get("generated") or {}
    low = set(_strings(gen.get("low_confidence")))
    items = [_review_item(text, p, low) for p in data["principles"]]
    spans = {i.id: (i.start, i.end) for i in items if i.start is not None and i.end is not None}
    junk = []
    for j in data.get("junk") or [] if isinstance(data.get("junk"), list) else []:
        if not isinstance(j, dict):
            continue
        try:
            to = j.get("to")
            junk.append(resolve_quote(text, str(j.get("from", "")), None if to is None else str(to), "junk"))
        except CorpusError:
            continue  # a junk quote that no longer resolves greys nothing out; accepting says why
    return DraftDetail(
        article=paths.stem,
        doc=paths.doc,
        title=str(data.get("title", "")),
        edited=is_edited(paths),
        principles=items,
        segments=segment_text(text, spans, junk),
        details=gen,
    )


def edit_draft(
    root: Path, article: str, principle_id: str, edit: DraftEdit, limits: Limits | None = None
) -> DraftDetail:
    """Change one draft principle's type, title, summary or source boundaries. Read, changed and written
    under the corpus lock, so an edit made meanwhile (another field, another principle, the YAML by hand)
    is kept; the whole draft is checked as `kb accept` would before anything is written, so an edit is
    either saved or refused with nothing written. A field given counts as checked: its `generated:` entry
    goes."""
    limits = limits or Limits()
    with corpus_lock(root, timeout=limits.lock_wait, what=f"an edit of the draft of {article}"):
        paths = draft_paths(root, article)
        if paths.publishing.exists():
            job = paths.publishing.read_text(encoding="utf-8").strip()
            raise BusyError(
                f"{paths.doc} is being published by job {job}: an edit now would be lost; retrying cannot "
                f"help (see GET /admin/jobs/{job})"
            )
        data = read_draft(paths)
        text = paths.text.read_text(encoding="utf-8")
        target = next((p for p in data["principles"] if p.get("id") == principle_id), None)
        if target is None:
            raise NotFoundError(f"no principle {principle_id!r} in the draft of {paths.doc}")
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
            check_draft(root, data, text, f"drafts/{paths.stem}", limits.max_principles)
        except DraftInvalidError as exc:
            raise DraftInvalidError(f"not saved: {exc.message}") from exc
        except InputError as exc:
            raise type(exc)(f"not saved: {exc.message}") from exc
        # the guard stays as `kb add` wrote it: the draft now counts as edited by a person
        write_atomic(paths.draft, dump_draft(data))
        refresh_summary(paths)
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
