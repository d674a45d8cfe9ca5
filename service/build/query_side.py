"""The query side of dense retrieval, prepared by `kb build`: which model encodes queries, and its ONNX copy.

Documents are always encoded by the base model on torch (fp32). Queries are encoded by the base model
adapted to the corpus (service/build/adapt.py) unless KB_ADAPT=false or the model cannot be trained here (a
test's fake embedder), then exported to int8 ONNX for serving and checked against its own torch vectors.
The adapted model is cached under `index/adapted/<hash of base model, corpus and settings>/`, so an
unchanged corpus does not retrain; the build records which one it used (`query_model` in the manifest),
which is what `KB_ENCODER=torch` loads.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from service.aliases import AliasTable
from service.build.adapt import AdaptConfig, adaptation_key, train
from service.build.onnx import PARITY_PROBES, reuse_or_export
from service.embedder import Embedder, SentenceTransformerEmbedder, resolve_model
from service.index import ADAPTED_DIR
from service.models import Principle
from service.retrieval.base import DocumentVectors

__all__ = ["QuerySide", "QuerySideBuilder"]

log = logging.getLogger("kb")

ENCODER_DIR = "encoder"

# (build folder, the documents as encoded) -> manifest fields ("encoder", "query_model")
QuerySideBuilder = Callable[[Path, DocumentVectors], Mapping[str, str | None]]


@dataclass(frozen=True)
class QuerySide:
    base: Embedder  # the document encoder
    principles: list[Principle]
    aliases: AliasTable
    index_dir: Path
    adapt: bool
    config: AdaptConfig = field(default_factory=AdaptConfig)
    progress: Callable[[str], None] | None = None
    reuse_latest: bool = False  # an incremental build: the newest adapted encoder rather than a new one

    def __call__(self, folder: Path, docs: DocumentVectors) -> Mapping[str, str | None]:
        if not isinstance(self.base, SentenceTransformerEmbedder):
            return {"encoder": None, "query_model": None}  # a test's fake: nothing to train or export
        query: SentenceTransformerEmbedder = self.base
        query_model = None
        if self.adapt:
            path = self._adapted(docs)
            query = SentenceTransformerEmbedder(str(path))
            query_model = str(path.relative_to(self.index_dir))
        step = max(1, len(docs.texts) // PARITY_PROBES)
        probes = docs.texts[::step][:PARITY_PROBES]
        vecs = docs.vectors[::step][:PARITY_PROBES] if query is self.base else query.encode(probes)
        previous = self.index_dir / "current" / ENCODER_DIR
        exported = reuse_or_export(query, previous, folder / ENCODER_DIR, probes, vecs)
        return {"encoder": ENCODER_DIR if exported else None, "query_model": query_model}

    def _adapted(self, docs: DocumentVectors) -> Path:
        base = resolve_model(self.base.name)
        key = adaptation_key(self.base.name, self.principles, self.aliases, self.config)
        root = self.index_dir / ADAPTED_DIR
        path = root / key
        if (path / "config.json").exists():
            log.info("adapted query encoder %s is cached: not retraining", key)
            return path
        latest = sorted(
            (d for d in root.glob("*") if (d / "config.json").exists()), key=lambda d: d.stat().st_mtime
        )
        if self.reuse_latest and latest:
            log.info(
                "incremental build: reusing the adapted query encoder %s (`kb build` retrains)",
                latest[-1].name,
            )
            return latest[-1]
        train(base, self.principles, self.aliases, docs, path, self.config, progress=self.progress)
        # older adaptations are of an earlier corpus: one is kept for an index still pointing at it
        old = sorted((d for d in root.iterdir() if d.is_dir() and d != path), key=lambda d: d.stat().st_mtime)
        for d in old[:-1]:
            shutil.rmtree(d, ignore_errors=True)
        return path

    def with_epochs(self, epochs: int) -> QuerySide:
        return replace(self, config=replace(self.config, epochs=epochs))
