"""Dense retrieval: each principle's texts embedded (several vectors per principle, stored as a FAISS
flat index), a principle scoring the cosine of its closest vector.

A keyword's vector stands for a keyword search and counts only for a query about as short: a sentence
that merely contains a generic keyword (私域流量, 社群运营) sits close to that keyword's lone vector, so
every principle listing it tied for the lead and the keyword, not the problem, decided it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Protocol, cast

import numpy as np

from service.errors import IndexError_
from service.query import Query
from service.retrieval.base import (
    BuildContext,
    DocumentVectors,
    Evidence,
    FloatArray,
    IntArray,
    LoadContext,
    Signal,
)
from service.texts import principle_fields

__all__ = ["ENCODER_DIR", "DenseRetriever"]

VECTORS_FILE = "vectors.faiss"
OWNERS_FILE = "vector_owners.json"
ENCODER_DIR = "encoder"
# a query longer than this (normalised characters) is no keyword search: keyword vectors sit out. The
# keyword searches people type are 2-6 characters
KEYWORD_QUERY_MAX_CHARS = 8


class _FlatIndex(Protocol):
    """The part of faiss.IndexFlatIP used here (faiss ships no type information)."""

    ntotal: int
    d: int

    def search(self, x: FloatArray, k: int) -> tuple[FloatArray, IntArray]: ...

    def reconstruct_n(self, i0: int, ni: int) -> FloatArray: ...


class DenseRetriever:
    name: ClassVar[str] = "dense"
    files: ClassVar[tuple[str, ...]] = (VECTORS_FILE, OWNERS_FILE)

    def __init__(self, vectors: _FlatIndex, owners: list[int], evidence: list[Evidence]) -> None:
        self.vectors = vectors
        self.evidence = evidence
        # every principle's best needs every vector's cosine: one matrix product over the few thousand
        # rows, without the sort a FAISS search for all of them makes (0.9 ms of a 2.4 ms search)
        self._matrix = np.ascontiguousarray(vectors.reconstruct_n(0, vectors.ntotal), dtype=np.float32)
        self._owner_principle = np.array(owners, dtype=np.int64)
        if np.any(np.diff(self._owner_principle) < 0):
            raise ValueError("index vectors must be grouped by principle, every principle owning some")
        self._starts = np.flatnonzero(np.r_[True, np.diff(self._owner_principle) != 0])
        self._counts = np.diff(np.r_[self._starts, len(self._owner_principle)])
        self._n = len(self._starts)
        self._keyword = np.array([e.field == "keyword" for e in evidence], dtype=bool)
        if self._keyword.size != len(owners):
            raise ValueError("one piece of evidence per index vector")

    @classmethod
    def build(cls, ctx: BuildContext, folder: Path) -> Mapping[str, int | str | None]:
        import faiss

        owners = [
            (i, field, text) for i, p in enumerate(ctx.principles) for field, text in principle_fields(p)
        ]
        texts = [text for _, _, text in owners]
        vecs = ctx.embedder.encode(texts)
        flat = faiss.IndexFlatIP(vecs.shape[1])  # inner product on unit vectors == cosine similarity
        flat.add(vecs)
        faiss.write_index(flat, str(folder / VECTORS_FILE))
        (folder / OWNERS_FILE).write_text(
            json.dumps([list(o) for o in owners], ensure_ascii=False, indent=1, sort_keys=True),
            encoding="utf-8",
        )
        query_fields: Mapping[str, str | None] = {"encoder": None, "query_model": None}
        if ctx.query_side is not None:
            docs = DocumentVectors(vecs, np.array([i for i, _, _ in owners], dtype=np.int64), texts)
            query_fields = ctx.query_side(folder, docs)
        return {"dimension": int(vecs.shape[1]), "vectors": len(owners), **query_fields}

    @classmethod
    def load(cls, ctx: LoadContext, folder: Path) -> DenseRetriever:
        import faiss

        try:
            rows = json.loads((folder / OWNERS_FILE).read_text(encoding="utf-8"))
            vectors = cast(_FlatIndex, faiss.read_index(str(folder / VECTORS_FILE)))
        except (ValueError, RuntimeError, OSError) as exc:
            raise IndexError_(f"index at {folder} cannot be read ({exc}): run `kb build`") from exc
        owners = [int(i) for i, _, _ in rows]
        if vectors.ntotal != len(owners) or vectors.d != ctx.dimension:
            raise IndexError_(f"index at {folder} is inconsistent with its manifest: run `kb build`")
        retriever = cls(vectors, owners, [Evidence(str(f), str(t)) for _, f, t in rows])
        if retriever._n != len(ctx.catalog):
            raise ValueError("index vectors must be grouped by principle, every principle owning some")
        return retriever

    def score(self, query: Query) -> Signal:
        # exact: inner products of unit vectors are cosines
        per_vector = self._matrix @ query.vector.astype(np.float32)
        if len(query.normalized) > KEYWORD_QUERY_MAX_CHARS:
            # below any cosine: every principle has a title and a summary vector to fall back on
            per_vector[self._keyword] = -2.0
        best = np.maximum.reduceat(per_vector, self._starts)
        # first vector of each principle reaching its maximum
        hit = per_vector == np.repeat(best, self._counts)
        first = np.flatnonzero(hit)
        owners = self._owner_principle[first]
        best_owner = np.zeros(self._n, dtype=np.int64)
        best_owner[owners[::-1]] = first[::-1]
        return Signal(
            self.name,
            best.astype(np.float32),
            np.ones(self._n, dtype=bool),
            self.evidence,
            best_owner,
        )
