"""Provenance of an article: its original file kept byte-identical beside a JSON record (sha256, size,
format, extractor and version, title/account/published, the block map), and where a citation of the
extracted text sits in the original, said for a person: "第 3 页", "第 2 个表格第 1 行", "第 5 段",
"标题「…」下"."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from service.errors import CorpusError
from service.files import write_atomic
from service.ingest.formats.blocks import Extracted
from service.source_models import Block, SourceRecord

__all__ = ["load_source", "locate", "record_path", "save_source"]

_SHOWN = 24  # characters of a heading quoted in a location


def record_path(folder: Path, stem: str) -> Path:
    return folder / f"{stem}.source.json"


def save_source(extracted: Extracted, original: bytes, folder: Path, stem: str) -> SourceRecord:
    """Write `<stem>.<format>` (the original, byte-identical) and `<stem>.source.json`, each atomically;
    the record last, so a record always names an original that is there."""
    if hashlib.sha256(original).hexdigest() != extracted.sha256:
        raise ValueError("save_source: these bytes are not the ones extracted")
    file = f"{stem}.{extracted.format}"
    record = extracted.record(file)
    write_atomic(folder / file, original)
    body = record.model_dump_json(indent=1, exclude_none=True)  # a block names only where it is
    write_atomic(record_path(folder, stem), (body + "\n").encode("utf-8"))
    return record


def load_source(folder: Path, stem: str) -> SourceRecord | None:
    """The record of `stem`, or None when it has none (articles added as text before records existed)."""
    path = record_path(folder, stem)
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return SourceRecord.model_validate_json(body)
    except ValidationError as exc:
        raise CorpusError(f"{path.name}: not a valid source record ({exc.error_count()} problems)") from exc


def _span(numbers: Sequence[int], unit: str) -> str:
    lo, hi = min(numbers), max(numbers)
    return f"第 {lo} {unit}" if lo == hi else f"第 {lo}–{hi} {unit}"


def _quoted(text: str) -> str:
    return f"「{text[:_SHOWN]}…」" if len(text) > _SHOWN else f"「{text}」"


def locate(blocks: Sequence[Block], start: int, end: int) -> str:
    """Where the span [start, end) of the extracted text sits in the original, in Chinese for a person;
    "" when the blocks do not cover it."""
    hits = [b for b in blocks if b.start < max(end, start + 1) and start < b.end]
    if not hits:
        return ""
    first = hits[0]
    parts = []
    pages = [b.page for b in hits if b.page is not None]
    if pages:
        parts.append(_span(pages, "页"))
    if first.kind == "table_cell" and first.table is not None:
        parts.append(f"第 {first.table} 个表格" + (f"第 {first.row} 行" if first.row else ""))
    elif first.kind == "heading" and first.text:
        parts.append(f"标题{_quoted(first.text)}")
        return "，".join(parts)
    elif not pages:
        numbers = [b.paragraph for b in hits if b.paragraph is not None] or _ordinals(blocks, hits)
        if numbers:
            parts.append(_span(numbers, "段"))
    heading = next(
        (b for b in reversed(blocks) if b.kind == "heading" and b.end <= first.start and b.text), None
    )
    # the article's own title heads every paragraph: naming it says nothing
    if heading is not None and not (heading is blocks[0] and heading.level == 1):
        parts.append(f"标题{_quoted(heading.text or '')}下")
    return "，".join(parts)


def _ordinals(blocks: Sequence[Block], hits: Sequence[Block]) -> list[int]:
    """Paragraph numbers counted from the blocks (HTML, Markdown, text): each non-heading,
    non-table block one paragraph."""
    wanted = {id(b) for b in hits}
    out, n = [], 0
    for b in blocks:
        if b.kind in ("heading", "table_cell"):
            continue
        n += 1
        if id(b) in wanted:
            out.append(n)
    return out
