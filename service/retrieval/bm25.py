"""BM25 (bm25s) over jieba tokens of each principle's texts; also knows the corpus vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Protocol, cast

import numpy as np

from service.errors import IndexError_
from service.query import Query
from service.retrieval.base import BuildContext, LoadContext, Signal
from service.texts import bm25_document
from service.tokens import tokenize, words

__all__ = ["Bm25Retriever"]

BM25_DIR = "bm25"


class _BM25(Protocol):
    """The part of bm25s.BM25 used here (bm25s ships no type information)."""

    vocab_dict: Mapping[str, int]

    def get_scores(self, query_tokens_single: list[str]) -> object: ...


class Bm25Retriever:
    name: ClassVar[str] = "bm25"
    files: ClassVar[tuple[str, ...]] = (BM25_DIR,)

    def __init__(self, bm25: _BM25, n: int) -> None:
        self.bm25 = bm25
        self._n = n
        self._vocab: dict[str, int] = dict(bm25.vocab_dict)

    @classmethod
    def build(cls, ctx: BuildContext, folder: Path) -> Mapping[str, int | str | None]:
        import bm25s

        bm25 = bm25s.BM25()
        bm25.index([bm25_document(p) for p in ctx.principles], show_progress=False)
        bm25.save(str(folder / BM25_DIR), show_progress=False)
        return {}

    @classmethod
    def load(cls, ctx: LoadContext, folder: Path) -> Bm25Retriever:
        import bm25s

        try:
            bm25 = cast(_BM25, bm25s.BM25.load(str(folder / BM25_DIR), show_progress=False))
        except (ValueError, RuntimeError, OSError) as exc:
            raise IndexError_(f"index at {folder} cannot be read ({exc}): run `kb build`") from exc
        return cls(bm25, len(ctx.catalog))

    def score(self, query: Query) -> Signal:
        tokens = [t for t in tokenize(query.normalized) if t in self._vocab]
        if not tokens:
            values = np.zeros(self._n, dtype=np.float32)
        else:
            values = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        return Signal(self.name, values, values > 0)

    def coverage(self, query: Query) -> float:
        """Share of the query's words that occur anywhere in the corpus: near 1 for questions in the
        articles' vocabulary, near 0 for weather or code, whatever the embedding similarity says."""
        found = words(query.normalized)
        if not found:
            return 0.0
        return sum(w in self._vocab for w in found) / len(found)
