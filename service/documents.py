"""The raw articles as a client sees them: a listing, the text, any range of it raw and normalised.

Read from corpus/raw, which loading the index has just checked against the index's corpus hash, so the
offsets of every citation index exactly these texts. Nothing here ranks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import cached_property
from pathlib import Path

from service.catalog import Catalog, doc_id
from service.errors import InputError, NotFoundError
from service.hits import to_link
from service.models import MAX_RANGE_CHARS, Document, DocumentInfo, DocumentList, DocumentQuery, DocumentRange
from service.normalize import normalize_text
from service.view_models import ArticleView
from service.views import segment_text

__all__ = ["Documents"]


Spans = Mapping[str, list[tuple[int, int]]]


class Documents:
    def __init__(self, raw_dir: Path, catalog: Catalog, junk: Callable[[], Spans] | None = None) -> None:
        """`junk` reads each document's junk spans (from the curated corpus), when a view first needs them."""
        self.catalog = catalog
        self._read_junk = junk or dict
        self.texts: dict[str, str] = {}
        infos: list[DocumentInfo] = []
        counts: dict[str, int] = {}
        titles: dict[str, str] = {}
        for p in catalog.principles:
            counts[p.source.doc] = counts.get(p.source.doc, 0) + 1
            titles.setdefault(p.source.doc, p.source.title)
        for path in sorted(raw_dir.glob("*.txt")):
            data = path.read_bytes()
            text = data.decode("utf-8")
            self.texts[path.name] = text
            first_line = next((line.strip() for line in text.splitlines() if line.strip()), path.name)
            infos.append(
                DocumentInfo(
                    id=doc_id(path.name),
                    doc=path.name,
                    title=titles.get(path.name, first_line),
                    chars=len(text),
                    sha256=hashlib.sha256(data).hexdigest(),
                    principles=counts.get(path.name, 0),
                )
            )
        self.infos = {i.id: i for i in infos}
        self.by_name = {i.doc: i for i in infos}

    def list(self) -> DocumentList:
        return DocumentList(total=len(self.infos), documents=list(self.infos.values()))

    def info(self, key: str) -> DocumentInfo:
        """A document by short id or file name."""
        found = self.infos.get(key) or self.by_name.get(key)
        if found is None:
            known = ", ".join(f"{i.id} ({i.doc})" for i in self.infos.values())
            raise NotFoundError(f"no document {key!r}; documents: {known}")
        return found

    def get(self, key: str, req: DocumentQuery | None = None) -> Document:
        """The whole text, or with `start`/`end` only that range (raw and normalised), bounded in size."""
        info = self.info(key)
        text = self.texts[info.doc]
        if req is None or (req.start is None and req.end is None):
            return Document(**info.model_dump(), text=text)
        start = req.start or 0
        end = req.end if req.end is not None else min(start + MAX_RANGE_CHARS, info.chars)
        if start > info.chars or end > info.chars:
            raise InputError(f"start, end: {start}-{end} is outside {info.doc} (0-{info.chars})")
        if end < start:
            raise InputError(f"end: {end} is before start {start}")
        if end - start > MAX_RANGE_CHARS:
            raise InputError(
                f"end: a range holds at most {MAX_RANGE_CHARS} characters, {start}-{end} has more"
            )
        raw = text[start:end]
        return Document(
            **info.model_dump(),
            range=DocumentRange(start=start, end=end, raw=raw, normalized=normalize_text(raw)),
        )

    @cached_property
    def junk(self) -> Spans:
        # read on the first article view, not at every load and reload of the index
        return self._read_junk()

    def view(self, key: str) -> ArticleView:
        """The whole article as segments, each with the principles citing it and whether it is junk."""
        info = self.info(key)
        cited = sorted(
            (p for p in self.catalog.principles if p.source.doc == info.doc),
            key=lambda p: (p.source.start, p.source.end, p.id),
        )
        spans = {p.id: (p.source.start, p.source.end) for p in cited}
        segments = segment_text(self.texts[info.doc], spans, self.junk.get(info.doc, []))
        return ArticleView(**info.model_dump(), segments=segments, cited=[to_link(p) for p in cited])
