"""Export the sentence-transformers model to an int8 ONNX query encoder, as one step of `kb build`.

The encoder is written into the build folder, so the manifest's checksums cover it and it travels with
the index: the atomic `index/current` swap, the Docker image. What is exported is the transformer alone
(token embeddings out); tokenising, pooling and normalising are redone by `OnnxEmbedder` from the
settings recorded here. Covered: a Hugging Face transformer followed by mean or CLS pooling and optionally
Normalize, with a fast tokenizer. Anything else, or a copy whose vectors drift from torch's, raises
`ExportError`; `kb build` then logs why and serving encodes with torch.

Exporting and quantising the model takes most of a build's time once document vectors come from the
cache (service/build/vector_cache.py); the export depends only on the model, so a build for the same
model copies the previous one's encoder files byte for byte (which also keeps their checksums, so a
build after `kb remove` has the manifest it had before `kb add`) and checks them against this build's
vectors the way an export is checked (`reuse_or_export`). Anything else exports afresh, and so does an
export quantised in a way this version no longer tries (an older, slower one).
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from service.embedder import (
    ONNX_CONFIG_FILE,
    ONNX_FILES,
    ONNX_MODEL_FILE,
    ONNX_TOKENIZER_FILE,
    OnnxEmbedder,
    OnnxEncoderConfig,
    SentenceTransformerEmbedder,
    Vectors,
)

__all__ = [
    "MIN_PARITY_COSINE",
    "PARITY_PROBES",
    "QUANTISATIONS",
    "ExportError",
    "Quantisation",
    "export_encoder",
    "export_or_explain",
    "parity",
    "reuse_or_export",
]

log = logging.getLogger("kb")

# the adapted m3e-small's int8 copy (7-bit signed weights) scores 0.989 at worst on the build's probe
# texts and 0.992 on the bench's queries; 0.97 leaves room for other models and CPUs and still refuses a
# broken export (one with its inputs swapped scored 0.69 at worst)
MIN_PARITY_COSINE = 0.97
# texts of the build re-encoded with the export to check it; enough to find an outlier, quick to run
PARITY_PROBES = 256
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Quantisation:
    """One way to quantise the weights (onnxruntime's quantize_dynamic arguments)."""

    weight_type: Literal["QInt8", "QUInt8"]
    per_channel: bool
    reduce_range: bool

    @property
    def name(self) -> str:
        return f"{self.weight_type} {'per-channel' if self.per_channel else 'per-tensor'}" + (
            " 7-bit" if self.reduce_range else ""
        )


# tried in this order, the first whose parity check passes is kept. Signed int8 weights run on x86's
# u8s8 kernels, 30 % faster per query than unsigned ones (u8u8) on this CPU (6.0 against 8.6 ms). At
# full 8-bit range those kernels saturate on CPUs without VNNI (onnxruntime 1.32: cosine 0.80 on
# m3e-small); 7-bit weights ("reduce_range") avoid that at the same speed and keep 0.992
QUANTISATIONS = (
    Quantisation("QInt8", per_channel=True, reduce_range=True),
    Quantisation("QUInt8", per_channel=True, reduce_range=False),
    Quantisation("QInt8", per_channel=False, reduce_range=False),
)


class ExportError(Exception):
    """The model cannot be exported faithfully; the message says why."""


def export_or_explain(
    embedder: SentenceTransformerEmbedder, folder: Path, texts: list[str], vecs: Vectors
) -> bool:
    """`export_encoder`, turning any failure into one log line: a model we cannot export still builds."""
    try:
        config = export_encoder(embedder.model, embedder.name, folder, texts, vecs)
    except Exception as exc:  # the exporter and quantiser raise many kinds; none may fail the build
        log.warning(
            "no ONNX encoder for %s (%s: %s): queries will be encoded with torch",
            embedder.name,
            type(exc).__name__,
            # the exporter's messages run to pages of advice; the first line says what failed
            next((line for line in str(exc).splitlines() if line.strip()), ""),
        )
        return False
    log.info("ONNX int8 encoder exported: cosine to torch >= %.4f", config.parity_min_cosine)
    return True


def export_encoder(model: Any, name: str, folder: Path, texts: list[str], vecs: Vectors) -> OnnxEncoderConfig:
    """Write model.int8.onnx, tokenizer.json and encoder.json into `folder`, then check the export
    against `vecs` (torch's vectors of `texts`). `model` is a loaded SentenceTransformer."""
    transformer, pooling = _supported_modules(model)
    tokenizer = transformer.tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportError("the tokenizer has no fast (tokenizers) version")
    inputs = [n for n in _INPUTS if n in tokenizer.model_input_names]
    if inputs[:2] != ["input_ids", "attention_mask"]:
        raise ExportError(f"unexpected tokenizer inputs {tokenizer.model_input_names}")
    config = OnnxEncoderConfig(
        model=name,
        dimension=_dimension(model),
        max_length=int(model.max_seq_length),
        pooling=pooling,
        lowercase=bool(getattr(transformer, "do_lower_case", False)),
        inputs=inputs,
        parity_min_cosine=0.0,
    )
    folder.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = Path(tmp) / "model.onnx"
            _export_fp32(transformer.auto_model, tokenizer, inputs, config.max_length, fp32)
            (folder / ONNX_TOKENIZER_FILE).write_text(backend.to_str(), encoding="utf-8")
            (folder / ONNX_CONFIG_FILE).write_text(config.model_dump_json(indent=1), encoding="utf-8")
            for scheme in QUANTISATIONS:
                _quantize(fp32, folder / ONNX_MODEL_FILE, scheme)
                config.parity_min_cosine = round(parity(folder, texts, vecs), 4)
                config.quantisation = scheme.name
                if config.parity_min_cosine >= MIN_PARITY_COSINE:
                    break
        if config.parity_min_cosine < MIN_PARITY_COSINE:
            raise ExportError(
                f"the int8 export drifts from torch: cosine {config.parity_min_cosine} < {MIN_PARITY_COSINE}"
            )
        (folder / ONNX_CONFIG_FILE).write_text(config.model_dump_json(indent=1), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return config


def _dimension(model: Any) -> int:
    # sentence-transformers 6 renamed the method and warns on the old name
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _supported_modules(model: Any) -> tuple[Any, Literal["mean", "cls"]]:
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ExportError(f"only Transformer + Pooling (+ Normalize) models are exported, not {kinds}")
    cfg = modules[1].get_config_dict()
    mode = cfg.get("pooling_mode")
    if mode is None:  # sentence-transformers < 5 sets one flag per mode instead
        flags = sorted(k for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True)
        mode = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}.get(",".join(flags))
    if mode not in ("mean", "cls"):
        raise ExportError(f"pooling {mode!r} is not exported (mean and cls are)")
    if not hasattr(modules[0], "auto_model"):
        raise ExportError("the Transformer module has no Hugging Face model")
    return modules[0], mode


def _export_fp32(hf_model: Any, tokenizer: Any, inputs: list[str], max_length: int, path: Path) -> None:
    import torch

    class Graph(torch.nn.Module):
        """The transformer with positional inputs in `inputs` order, token embeddings out."""

        def __init__(self) -> None:
            super().__init__()
            self.model = hf_model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            out = self.model(**dict(zip(inputs, tensors, strict=True)))
            return out.last_hidden_state  # type: ignore[no-any-return]

    # any text will do, twice so that the batch size is not taken for a constant 1
    example = tokenizer(["社群没人说话怎么办?"] * 2, return_tensors="pt")
    batch = torch.export.Dim("batch", min=1, max=1024)
    seq = torch.export.Dim("seq", min=1, max=max_length)
    with _quiet(), torch.no_grad():
        torch.onnx.export(
            Graph().eval(),
            tuple(example[n] for n in inputs),
            str(path),
            input_names=inputs,
            output_names=["token_embeddings"],
            dynamic_shapes=(tuple({0: batch, 1: seq} for _ in inputs),),  # one entry: *tensors
            dynamo=True,
            external_data=False,
            verbose=False,
        )


def _quantize(src: Path, dst: Path, scheme: Quantisation) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # activations are quantised per input at run time (dynamic), so there is no calibration set to choose
    with _quiet():
        quantize_dynamic(
            src,
            dst,
            weight_type=QuantType[scheme.weight_type],
            per_channel=scheme.per_channel,
            reduce_range=scheme.reduce_range,
        )


def parity(folder: Path, texts: list[str], vecs: Vectors) -> float:
    """Lowest cosine between the export's and torch's vectors over a spread of the build's texts."""
    step = max(1, len(texts) // PARITY_PROBES)
    rows = list(range(0, len(texts), step))[:PARITY_PROBES]
    if not rows:
        raise ExportError("no texts to check the export against")
    got = OnnxEmbedder(folder).encode([texts[i] for i in rows])
    return float(np.min(np.sum(got * vecs[rows], axis=1)))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's and quantiser's progress notes and advice (about their own internals, not
    our model) while real errors still arrive as exceptions. The quantiser's `logging.warning` would also
    give the root logger a handler for good, which then prints bm25s's debug records: undo that too."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    loggers = [root, *(logging.getLogger(n) for n in ("torch", "torch.onnx", "onnxscript", "onnx_ir"))]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)
            for h in [h for h in root.handlers if h not in handlers]:
                root.removeHandler(h)


def _reuse(previous: Path, name: str, folder: Path, texts: list[str], vecs: Vectors) -> bool:
    try:
        config = OnnxEncoderConfig.model_validate_json((previous / ONNX_CONFIG_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    if config.model != name or not all((previous / f).is_file() for f in ONNX_FILES):
        return False
    if config.quantisation not in {q.name for q in QUANTISATIONS}:
        return False
    folder.mkdir(parents=True)
    for f in ONNX_FILES:
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
