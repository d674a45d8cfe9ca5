"""Reuse the previous build's ONNX query encoder when the model has not changed.

Exporting and quantising the model takes most of a build's time once document vectors come from the
cache (service/retrieval/vector_cache.py); the export depends only on the model, so a build for the same
model copies the previous one's encoder files byte for byte (which also keeps their checksums, so a
build after `kb remove` has the manifest it had before `kb add`) and checks them against this build's
vectors the way an export is checked. Anything else exports afresh, and so does an export quantised in
a way this version no longer tries (an older, slower one).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from service.embedder import (
    ONNX_CONFIG_FILE,
    ONNX_MODEL_FILE,
    ONNX_TOKENIZER_FILE,
    OnnxEncoderConfig,
    SentenceTransformerEmbedder,
    Vectors,
)
from service.onnx_export import MIN_PARITY_COSINE, QUANTISATIONS, export_or_explain, parity

__all__ = ["reuse_or_export"]

log = logging.getLogger("kb")
_FILES = (ONNX_MODEL_FILE, ONNX_TOKENIZER_FILE, ONNX_CONFIG_FILE)


def _reuse(previous: Path, name: str, folder: Path, texts: list[str], vecs: Vectors) -> bool:
    try:
        config = OnnxEncoderConfig.model_validate_json((previous / ONNX_CONFIG_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if config.model != name or not all((previous / f).is_file() for f in _FILES):
        return False
    if config.quantisation not in {q.name for q in QUANTISATIONS}:
        return False
    folder.mkdir(parents=True)
    for f in _FILES:
        shutil.copyfile(previous / f, folder / f)
    cosine = parity(folder, texts, vecs)
    if cosine < MIN_PARITY_COSINE:
        log.warning("previous ONNX encoder drifts from torch (cosine %.4f): exporting afresh", cosine)
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
