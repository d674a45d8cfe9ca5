"""Reuse the previous build's ONNX query encoder when the model has not changed.

Exporting and quantising the model takes most of a build's time once document vectors come from the
cache (service/retrieval/vector_cache.py); the export depends only on the model, so a build for the same
model copies the previous one's encoder files byte for byte (which also keeps their checksums, so a
build after `kb remove` has the manifest it had before `kb add`) and checks them against this build's
vectors the way an export is checked. Anything else exports afresh.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from service.embedder import (
    ONNX_CONFIG_FILE,
    ONNX_MODEL_FILE,
    ONNX_TOKENIZER_FILE,
    OnnxEmbedder,
    OnnxEncoderConfig,
    SentenceTransformerEmbedder,
    Vectors,
)
from service.onnx_export import MIN_PARITY_COSINE, PARITY_PROBES, export_or_explain

__all__ = ["reuse_or_export"]

log = logging.getLogger("kb")
_FILES = (ONNX_MODEL_FILE, ONNX_TOKENIZER_FILE, ONNX_CONFIG_FILE)


def _parity(folder: Path, texts: list[str], vecs: Vectors) -> float:
    step = max(1, len(texts) // PARITY_PROBES)
    rows = list(range(0, len(texts), step))[:PARITY_PROBES]
    got = OnnxEmbedder(folder).encode([texts[i] for i in rows])
    return float(np.min(np.sum(got * vecs[rows], axis=1))) if rows else 0.0


def _reuse(previous: Path, name: str, folder: Path, texts: list[str], vecs: Vectors) -> bool:
    try:
        config = OnnxEncoderConfig.model_validate_json((previous / ONNX_CONFIG_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if config.model != name or not all((previous / f).is_file() for f in _FILES):
        return False
    folder.mkdir(parents=True)
    for f in _FILES:
        shutil.copyfile(previous / f, folder / f)
    parity = _parity(folder, texts, vecs)
    if parity < MIN_PARITY_COSINE:
        log.warning("previous ONNX encoder drifts from torch (cosine %.4f): exporting afresh", parity)
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


def reuse_or_export(
    embedder: SentenceTransformerEmbedder, previous: Path, folder: Path, texts: list[str], vecs: Vectors
) -> bool:
    """The EncoderExport of `kb build`: the previous build's encoder (`previous`) if it fits, else a new
    export."""
    if previous.is_dir() and _reuse(previous, embedder.name, folder, texts, vecs):
        log.info("ONNX encoder reused from the previous build")
        return True
    return export_or_explain(embedder, folder, texts, vecs)
