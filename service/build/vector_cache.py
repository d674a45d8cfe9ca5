"""Vectors of texts already encoded, kept between builds: a build after adding one article encodes only
that article's texts.

Keyed by sha256 of (model name, text), so a vector is reused only for the same model and the same
normalised text; stored beside the builds (index/cache/), outside any build folder, so it survives the
atomic swap and never enters a manifest. Written atomically (temp + os.replace) after a build has
encoded something new; a cache that cannot be read is ignored and rewritten. It only grows: removing an
article keeps its vectors, so adding it back costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path

import numpy as np

from service.embedder import Embedder, Vectors

__all__ = ["VECTOR_CACHE_DIR", "CachingEmbedder", "text_key"]

log = logging.getLogger("kb")

VECTOR_CACHE_DIR = "cache"  # under the index folder
KEYS_FILE = "keys.json"
VECTORS_FILE = "vectors.npy"


def text_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


class CachingEmbedder:
    """An Embedder that answers from the cache and sends only unseen texts to `inner`."""

    def __init__(self, inner: Embedder, folder: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.folder = folder
        self.hits = 0
        self.misses = 0
        self._keys: list[str] = []
        self._vectors: Vectors | None = None
        self._row: dict[str, int] = {}
        self._load()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def _load(self) -> None:
        try:
            keys = json.loads((self.folder / KEYS_FILE).read_text(encoding="utf-8"))
            vectors = np.load(self.folder / VECTORS_FILE)
        except (OSError, ValueError):
            return  # no cache yet, or a damaged one: start afresh
        if not isinstance(keys, list) or vectors.ndim != 2 or len(keys) != len(vectors):
            log.warning("vector cache at %s is inconsistent: ignored", self.folder)
            return
        self._keys, self._vectors = [str(k) for k in keys], np.asarray(vectors, dtype=np.float32)
        self._row = {k: i for i, k in enumerate(self._keys)}

    def encode(self, texts: list[str]) -> Vectors:
        keys = [text_key(self.name, t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self._row}.items())
        self.misses += len(missing)
        self.hits += len(texts) - len(missing)
        if missing:
            if len(missing) == len(set(keys)):
                # nothing cached: encode exactly what an uncached build would (the same batches,
                # duplicates included), so that a first build gives the same vectors with or without it
                every = self.inner.encode(texts)
                first = {k: i for i, k in reversed(list(enumerate(keys)))}
                fresh = np.ascontiguousarray(every[[first[k] for k, _ in missing]])
            else:
                fresh = self.inner.encode([t for _, t in missing])
            old = self._vectors if self._vectors is not None else np.zeros((0, fresh.shape[1]), np.float32)
            if old.shape[1] != fresh.shape[1]:  # another dimension under the same name: start afresh
                old, self._keys, self._row = np.zeros((0, fresh.shape[1]), np.float32), [], {}
            for k, _ in missing:
                self._row[k] = len(self._keys)
                self._keys.append(k)
            self._vectors = np.ascontiguousarray(np.vstack([old, fresh]), dtype=np.float32)
            self._save()
        assert self._vectors is not None or not texts
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        assert self._vectors is not None
        return np.ascontiguousarray(self._vectors[[self._row[k] for k in keys]])

    def _save(self) -> None:
        assert self._vectors is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex
        tmp_vec, tmp_keys = self.folder / f".{tag}.npy", self.folder / f".{tag}.json"
        try:
            np.save(tmp_vec, self._vectors)
            tmp_keys.write_text(json.dumps(self._keys), encoding="utf-8")
            # vectors first: a crash between the two leaves keys that no longer match, which _load ignores
            os.replace(tmp_vec, self.folder / VECTORS_FILE)
            os.replace(tmp_keys, self.folder / KEYS_FILE)
        finally:
            tmp_vec.unlink(missing_ok=True)
            tmp_keys.unlink(missing_ok=True)
