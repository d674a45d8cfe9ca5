"""Test doubles light enough for a subprocess to import (conftest imports the whole app)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from service.embedder import Vectors

__all__ = ["FAKE_WORKER", "FakeEmbedder"]

# a publish job's child process on the fake embedder (Publisher(kb, command=FAKE_WORKER))
FAKE_WORKER = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]


class FakeEmbedder:
    """Deterministic unit vectors from a hash of the text (llm's EmbedDemo idea), for plumbing tests."""

    name = "fake-embedder"
    dimension = 16

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after

    def encode(self, texts: list[str]) -> Vectors:
        if self.fail_after is not None and len(texts) > self.fail_after:
            raise RuntimeError("simulated crash during a build")
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8) for t in texts]
        vecs = np.array(rows, dtype=np.float32) - 127.5
        return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
