"""The ONNX export step of `kb build`: what the built index carries, and every way back to torch."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from service.build.onnx import (
    MIN_PARITY_COSINE,
    QUANTISATIONS,
    ExportError,
    export_encoder,
    export_or_explain,
    parity,
)
from service.embedder import OnnxEmbedder, SentenceTransformerEmbedder
from service.errors import IndexError_
from service.index import load_index
from service.kb import KnowledgeBase
from service.query import make_query_embedder
from service.settings import Settings


def test_built_index_carries_a_checked_encoder(kb: KnowledgeBase) -> None:
    manifest = kb.index.manifest
    assert manifest.encoder == "encoder"
    # under the manifest's checksums, so a tampered or truncated encoder is refused like any file
    assert {"encoder/model.int8.onnx", "encoder/tokenizer.json", "encoder/encoder.json"} <= set(
        manifest.files
    )
    config = json.loads((kb.index.path / "encoder" / "encoder.json").read_text(encoding="utf-8"))
    # exported from the query encoder adapted to the corpus at this build (service/build/query_side.py)
    assert manifest.query_model is not None and config["model"].endswith(manifest.query_model)
    assert config["pooling"] == "mean" and config["max_length"] == 512
    assert config["parity_min_cosine"] >= MIN_PARITY_COSINE
    # the fastest scheme (signed 7-bit weights, x86's u8s8 kernels) passes its check on this CPU
    assert config["quantisation"] == QUANTISATIONS[0].name == "QInt8 per-channel 7-bit"


def test_parity_check_tells_a_faithful_export_from_a_broken_one(kb: KnowledgeBase) -> None:
    dense = kb.index.retriever("dense")
    rows = np.arange(0, len(dense.evidence), 40)
    texts = [dense.evidence[i].text for i in rows]
    assert kb.index.query_model_dir is not None
    # the model the export was made from, on torch
    torch_vecs = SentenceTransformerEmbedder(str(kb.index.query_model_dir)).encode(texts)
    folder = kb.index.encoder_dir
    assert folder is not None
    assert parity(folder, texts, torch_vecs) >= 0.985  # 7-bit weights: 0.989 at worst here
    assert parity(folder, texts, np.roll(torch_vecs, 1, axis=0)) < MIN_PARITY_COSINE


class _Module:
    def __init__(self, kind: str, config: dict[str, object] | None = None) -> None:
        self.__class__ = type(kind, (_Module,), {})
        self._config = config or {}
        self.auto_model = object()

    def get_config_dict(self) -> dict[str, object]:
        return self._config


@pytest.mark.parametrize(
    ("modules", "reason"),
    [
        ([_Module("Transformer"), _Module("Pooling", {"pooling_mode": "max"})], "pooling 'max'"),
        (
            [_Module("Transformer"), _Module("Pooling", {"pooling_mode": "mean"}), _Module("Dense")],
            "only Transformer + Pooling (+ Normalize)",
        ),
        ([_Module("CLIPModel")], "only Transformer + Pooling"),
    ],
)
def test_unsupported_model_is_refused(tmp_path: Path, modules: list[_Module], reason: str) -> None:
    with pytest.raises(ExportError, match=re.escape(reason)):
        export_encoder(modules, "odd-model", tmp_path / "encoder", ["社群"], np.ones((1, 4), np.float32))
    assert not (tmp_path / "encoder").exists()


def test_failed_export_logs_one_line_and_builds_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    odd = SentenceTransformerEmbedder("odd-model")
    odd._model = [_Module("Transformer"), _Module("Pooling", {"pooling_mode": "max"})]  # never loads torch
    with caplog.at_level(logging.WARNING, logger="kb"):
        assert export_or_explain(odd, tmp_path / "encoder", ["社群"], np.ones((1, 4), np.float32)) is False
    assert caplog.messages == [
        "no ONNX encoder for odd-model (ExportError: pooling 'max' is not exported (mean and cls are)): "
        "queries will be encoded with torch"
    ]


def test_index_without_encoder_serves_with_torch(
    kb: KnowledgeBase, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    bare = dataclasses.replace(kb.index, manifest=kb.index.manifest.model_copy(update={"encoder": None}))
    with caplog.at_level(logging.WARNING, logger="kb"):
        embedder = make_query_embedder(settings, bare)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "the index has no ONNX encoder" in caplog.text and "encoding queries with torch" in caplog.text


def test_encoder_setting_chooses(kb: KnowledgeBase, settings: Settings) -> None:
    assert isinstance(make_query_embedder(settings, kb.index), OnnxEmbedder)
    torch_settings = settings.model_copy(update={"encoder": "torch"})
    assert isinstance(make_query_embedder(torch_settings, kb.index), SentenceTransformerEmbedder)


def test_tampered_encoder_is_refused(tmp_path: Path, settings: Settings) -> None:
    target = tmp_path / "index"
    shutil.copytree(settings.index_dir, target, symlinks=True)
    model = (target / "current" / "encoder" / "model.int8.onnx").resolve()
    model.write_bytes(model.read_bytes()[:-100])
    with pytest.raises(IndexError_, match=r"encoder/model\.int8\.onnx does not match its checksum"):
        load_index(target, settings.corpus_dir, settings.model)


def test_an_export_quantised_the_old_way_is_not_reused(kb: KnowledgeBase, tmp_path: Path) -> None:
    from service.build.onnx import _reuse

    dense = kb.index.retriever("dense")
    texts = [dense.evidence[i].text for i in range(0, len(dense.evidence), 200)]
    assert kb.index.query_model_dir is not None and kb.index.encoder_dir is not None
    vecs = SentenceTransformerEmbedder(str(kb.index.query_model_dir)).encode(texts)
    previous = tmp_path / "previous"
    shutil.copytree(kb.index.encoder_dir, previous)
    name = json.loads((previous / "encoder.json").read_text(encoding="utf-8"))["model"]
    assert _reuse(previous, name, tmp_path / "now", texts, vecs)  # the current export is reused
    config = json.loads((previous / "encoder.json").read_text(encoding="utf-8"))
    del config["quantisation"]  # as written before the scheme was recorded (unsigned, slower)
    (previous / "encoder.json").write_text(json.dumps(config), encoding="utf-8")
    assert not _reuse(previous, name, tmp_path / "again", texts, vecs)
