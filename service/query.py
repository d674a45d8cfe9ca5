"""The query pipeline: raw text -> a `Query` value (normalised text, clauses, their vectors), built once.

    text ──normalize──▶ normalized ──split──▶ clauses ──QueryEncoder (cache, batching)──▶ Query

Every retriever and every policy reads the same `Query`; nothing climbs back up to the facade to encode.
A step that rewrites queries (e.g. an alias table) slots in between normalising and encoding and
records what it did in `Query.rewrites`, so an explanation can say when it fired.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from service.embedder import BatchingEmbedder, Embedder, OnnxEmbedder, SentenceTransformerEmbedder, Vectors
from service.errors import IndexError_
from service.models import Match
from service.normalize import normalize_text
from service.settings import Settings

__all__ = ["Query", "QueryEncoder", "QueryRewriter", "Rewrite", "make_query_embedder", "split_clauses"]

log = logging.getLogger("kb")

_CLAUSE_SPLIT = re.compile(r"[。！？!?；;\n…，,、]+|(?:但是|而且|并且|另外|还有|同时|然后)")
MIN_CLAUSE_CHARS = 4


@dataclass(frozen=True)
class Rewrite:
    """One change a rewriting step made to the normalised text (e.g. an alias it expanded)."""

    step: str
    before: str
    after: str


class QueryRewriter(Protocol):
    """A step between normalising and encoding: returns the new normalised text and what it changed."""

    name: str

    def rewrite(self, normalized: str) -> tuple[str, list[Rewrite]]: ...


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not queries
class Query:
    """One text to retrieve for: the user's `text`, its `normalized` form (what is tokenised and
    encoded) and its unit `vector`. A whole query also carries its `clauses`, each a Query of its own
    whose `span` gives its offsets into the user's text."""

    text: str
    normalized: str
    vector: Vectors
    span: Match | None = None
    clauses: tuple[Query, ...] = ()
    rewrites: tuple[Rewrite, ...] = field(default=())

    def windows(self, size: int) -> list[Query]:
        """Every run of `size` consecutive clauses as a Query of its own, for a text of more clauses than
        that: its vector the normalised mean of the clauses' (no encoding: they are encoded already), its
        normalised text theirs joined. A problem a user describes usually spans a few clauses; one clause
        alone is often a fragment ("然后就是…") and the whole text mixes every problem."""
        runs = [self.clauses[i : i + size] for i in range(len(self.clauses) - size + 1)] if size > 1 else []
        out = []
        for run in runs:
            first, last = run[0].span, run[-1].span
            assert first is not None and last is not None
            mean = np.mean([c.vector for c in run], axis=0)
            vector = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
            span = Match(text=self.text[first.start : last.end], start=first.start, end=last.end)
            out.append(Query(span.text, "".join(c.normalized for c in run), vector, span=span))
        return out


def split_clauses(text: str) -> list[Match]:
    """Clauses of a text with offsets into it; short fragments join their neighbour."""
    parts: list[Match] = []
    pos = 0
    for m in [*_CLAUSE_SPLIT.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        stripped = chunk.strip()
        if stripped:
            start = pos + chunk.index(stripped)
            parts.append(Match(text=stripped, start=start, end=start + len(stripped)))
        pos = m.end() if m else len(text)
    merged: list[Match] = []
    for part in parts:
        if merged and (len(part.text) < MIN_CLAUSE_CHARS or len(merged[-1].text) < MIN_CLAUSE_CHARS):
            prev = merged.pop()
            part = Match(text=text[prev.start : part.end], start=prev.start, end=part.end)
        merged.append(part)
    return merged


class _QuerySideOfIndex(Protocol):
    @property
    def encoder_dir(self) -> Path | None: ...

    @property
    def query_model_dir(self) -> Path | None: ...


def make_query_embedder(settings: Settings, index: _QuerySideOfIndex | None = None) -> Embedder:
    """The query encoder: the index's int8 ONNX export unless KB_ENCODER=torch or the index has none;
    on torch, the adapted model the index was built with (the base model when it has none)."""
    encoder_dir = index.encoder_dir if index is not None else None
    query_model = index.query_model_dir if index is not None else None
    if settings.encoder == "onnx":
        if encoder_dir is not None:
            return OnnxEmbedder(encoder_dir, settings.encoder_threads)
        log.warning("the index has no ONNX encoder (see `kb build`'s output): encoding queries with torch")
    if query_model is not None:
        embedder = SentenceTransformerEmbedder(str(query_model))  # says so first when torch is missing
        if not query_model.is_dir():
            raise IndexError_(f"the adapted query encoder {query_model} is missing: run `kb build`")
        return embedder
    return SentenceTransformerEmbedder(settings.model)


class QueryEncoder:
    """Builds `Query` values: normalises, rewrites, splits, and encodes through an LRU cache of repeats
    and one batching worker shared by every request of the process."""

    def __init__(
        self,
        embedder: Embedder,
        cache_size: int = 1024,
        batch_wait_ms: float = 0.0,
        rewriters: Sequence[QueryRewriter] = (),
        max_clauses: int = 16,
    ) -> None:
        self.embedder = BatchingEmbedder(embedder, batch_wait_ms)
        self.max_clauses = max_clauses
        self.rewriters = tuple(rewriters)
        self._size = cache_size
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.embedder.name

    def query(self, text: str, *, min_clauses: int | None = None) -> Query:
        """The whole text and, when it has at least `min_clauses` clauses, each clause (None: never),
        all encoded in one call (one trip through the batching worker). Only the first `max_clauses`
        clauses are encoded on their own, so a long text costs at most that many encodes more than a
        short one (the encoder truncates each text to the model's length)."""
        normalized, rewrites = self._prepare(text)
        spans = split_clauses(text)[: self.max_clauses] if min_clauses is not None else []
        clause_texts = [self._prepare(s.text)[0] for s in spans] if len(spans) >= (min_clauses or 0) else []
        vecs = self.encode([normalized, *clause_texts])
        clauses = tuple(
            Query(text=s.text, normalized=t, vector=vecs[i + 1], span=s)
            for i, (s, t) in enumerate(zip(spans, clause_texts, strict=False))
        )
        return Query(text, normalized, vecs[0], clauses=clauses, rewrites=tuple(rewrites))

    def queries(self, texts: Sequence[str]) -> list[Query]:
        """Several whole texts (no clauses), all encoded in one call."""
        prepared = [self._prepare(t) for t in texts]
        vecs = self.encode([n for n, _ in prepared])
        return [
            Query(t, n, vecs[i], rewrites=tuple(r))
            for i, (t, (n, r)) in enumerate(zip(texts, prepared, strict=True))
        ]

    def _prepare(self, text: str) -> tuple[str, list[Rewrite]]:
        normalized = normalize_text(text)
        rewrites: list[Rewrite] = []
        for step in self.rewriters:
            normalized, done = step.rewrite(normalized)
            rewrites += done
        return normalized, rewrites

    def encode(self, normalized: Sequence[str]) -> Vectors:
        """Embeddings of normalised texts, through the LRU cache."""
        size = self._size
        out: list[Vectors | None] = []
        missing: list[int] = []
        with self._lock:
            for i, text in enumerate(normalized):
                vec = self._cache.get(text) if size else None
                if vec is not None:
                    self._cache.move_to_end(text)
                else:
                    missing.append(i)
                out.append(vec)
        if missing:
            fresh = self.embedder.encode([normalized[i] for i in missing])
            with self._lock:
                for row, i in enumerate(missing):
                    out[i] = fresh[row]
                    if size:
                        self._cache[normalized[i]] = fresh[row]
                        while len(self._cache) > size:
                            self._cache.popitem(last=False)
        return np.stack([v for v in out if v is not None])
