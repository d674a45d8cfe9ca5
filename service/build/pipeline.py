"""`kb build`: the whole pipeline from the corpus to a current index, under the corpus write lock.

Documents are always encoded by the base model on torch (fp32), through the vector cache: texts
encoded by an earlier build are not encoded again. Then the query side: the query encoder adapted to
the corpus (service/build/query_side.py) and its int8 ONNX copy (the previous build's copy when the
model is the same). Last, with the index complete but not yet current, the confidence model is fitted
on the labelled requests, run through that index exactly as they would be served.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from service.aliases import load_aliases
from service.build.adapt import AdaptConfig
from service.build.index import build_index
from service.build.query_side import QuerySide
from service.build.vector_cache import VECTOR_CACHE_DIR, CachingEmbedder
from service.confidence import calibrate, load_calibration
from service.corpus import load_corpus
from service.curation.locks import corpus_lock
from service.embedder import Embedder, SentenceTransformerEmbedder
from service.index import LoadedIndex, Manifest
from service.query import QueryEncoder, make_query_embedder
from service.retrieval import AnnConfig, Retrieval
from service.settings import Settings

__all__ = ["build"]


def build(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[str], None] | None = None,
    retrain: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> Manifest:
    """`retrain=False` (an article accepted or removed) reuses the latest adapted encoder instead of
    training one for the new corpus: a publish takes seconds, and the next `kb build` retrains.
    Holds the corpus write lock throughout."""
    with corpus_lock(settings.corpus_dir):
        corpus = load_corpus(settings.corpus_dir)
        aliases = load_aliases(settings.corpus_dir)
        embedder = embedder or SentenceTransformerEmbedder(settings.model)
        side = QuerySide(
            embedder, corpus.principles, aliases, settings.index_dir, settings.adapt,
            AdaptConfig(epochs=settings.adapt_epochs), progress, reuse_latest=not retrain,
        )  # fmt: skip
        examples = load_calibration(settings.corpus_dir)

        def finish(folder: Path, index: LoadedIndex) -> None:
            if not examples:
                return
            trained = isinstance(embedder, SentenceTransformerEmbedder)  # else a test's fake does both sides
            query_embedder = make_query_embedder(settings, index) if trained else embedder
            encoder = QueryEncoder(query_embedder, rewriters=[aliases])
            calibrate(examples, encoder, Retrieval.for_index(index, settings), folder)

        cached = CachingEmbedder(embedder, settings.index_dir / VECTOR_CACHE_DIR)
        ann = AnnConfig(settings.ann_min_vectors, settings.ann_candidates, settings.ann_ef_search)
        return build_index(
            corpus,
            cached,
            settings.index_dir,
            side,
            finish,
            settings.build_lock_timeout,
            on_wait or progress,
            ann,
        )
