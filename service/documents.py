"""The raw articles as a client sees them: a listing, the text, any range of it raw and normalised.

Read from corpus/raw, which loading the index has just checked against the index's corpus hash, so the
offsets of every citation index exactly these texts. Nothing here ranks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from service.catalog import Catalog, doc_id
from service.errors import InputError, NotFoundError
from service.models import MAX_RANGE_CHARS, Document, DocumentInfo, DocumentList, DocumentQuery, DocumentRange
from service.normalize import normalize_text

__all__ = ["Documents"]


class Documents:
    def __init__(self, raw_dir: Path, catalog: Catalog) -> None:
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
