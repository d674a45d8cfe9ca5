"""Build, save and load the index folder: FAISS vectors, BM25, principle records and a manifest.

Layout: `index/current` is a symlink to `index/builds/<stamp>`. A build writes a fresh folder and swaps the
symlink with one `os.replace`, so readers see the old index or the new one, never half of either, and a
crashed build leaves `current` untouched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError

from service.catalog import Catalog, Records
from service.confidence import CONFIDENCE_FILE, ConfidenceModel, References
from service.corpus import Corpus, corpus_digest
from service.embedder import Embedder
from service.errors import IndexError_, IndexStaleError
from service.models import IndexSummary
from service.query_model import QuerySideBuilder
from service.retrieval import REGISTRY, BuildContext, LoadContext, Retriever

__all__ = [
    "FORMAT_VERSION",
    "LoadedIndex",
    "Manifest",
    "build_index",
    "is_fresh",
    "load_index",
    "read_manifest",
]

# 2: the index carries the ONNX query encoder; 3: an adapted query encoder and a confidence model
FORMAT_VERSION = 3


class Manifest(IndexSummary):
    """manifest.json: what /health shows, plus what loading checks."""

    format: int
    build_seconds: float
    files: dict[str, str] = Field(description="sha256 of every other file in the folder")
    encoder: str | None = Field(
        None, description="sub-folder holding the int8 ONNX query encoder; None when the export failed"
    )
    query_model: str | None = Field(
        None,
        description="the adapted query encoder (torch), relative to the index folder; None: the base model",
    )
    signals: list[str] = Field(
        default_factory=lambda: ["dense", "bm25"], description="the retrievers built into this index"
    )

    def summary(self) -> IndexSummary:
        return IndexSummary.model_validate(self.model_dump(include=set(IndexSummary.model_fields)))


@dataclass(frozen=True)
class LoadedIndex:
    path: Path
    manifest: Manifest
    catalog: Catalog
    retrievers: list[Retriever]  # in REGISTRY order
    confidence: ConfidenceModel | None  # None: an index built without calibration requests
    references: References | None

    def retriever(self, name: str) -> Retriever:
        return next(r for r in self.retrievers if r.name == name)

    @property
    def encoder_dir(self) -> Path | None:
        return self.path / self.manifest.encoder if self.manifest.encoder else None

    @property
    def query_model_dir(self) -> Path | None:
        """The adapted query encoder on torch (KB_ENCODER=torch); it lives beside the builds."""
        return self.path.parent.parent / self.manifest.query_model if self.manifest.query_model else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_index(
    corpus: Corpus,
    embedder: Embedder,
    index_dir: Path,
    query_side: QuerySideBuilder | None = None,
    finish: Callable[[Path, LoadedIndex], None] | None = None,
) -> Manifest:
    """Index the corpus into a new build folder (each registered retriever writes its own files), then
    make it `current`."""
    started = time.time()
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    tmp = builds / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        ctx = BuildContext(corpus.principles, embedder, query_side)
        fields: dict[str, int | str | None] = {}
        for kind in REGISTRY.values():
            fields.update(kind.build(ctx, tmp))
        records = Records(principles=corpus.principles, types=corpus.types, groups=corpus.groups)
        (tmp / "records.json").write_text(records.model_dump_json(indent=1), encoding="utf-8")
        if finish is not None:
            # steps that need the built index itself (fitting the confidence model), before the checksums
            draft = Manifest.model_validate(
                {"format": FORMAT_VERSION, "model": embedder.name, "principles": len(corpus.principles),
                 "corpus_sha256": corpus.digest, "built_at": "", "build_seconds": 0.0, "files": {},
                 "signals": list(REGISTRY), **fields}
            )  # fmt: skip
            finish(tmp, _open(tmp, draft))

        files = {str(f.relative_to(tmp)): _sha256(f) for f in sorted(tmp.rglob("*")) if f.is_file()}
        manifest = Manifest.model_validate(
            {
                "format": FORMAT_VERSION,
                "model": embedder.name,
                "principles": len(corpus.principles),
                "corpus_sha256": corpus.digest,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "build_seconds": round(time.time() - started, 2),
                "files": files,
                "signals": list(REGISTRY),
                **fields,
            }
        )
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=1), encoding="utf-8")
        final = builds / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    link = index_dir / f".current-{uuid.uuid4().hex}"
    link.symlink_to(Path("builds") / final.name)
    os.replace(link, index_dir / "current")
    _prune(builds, keep=final.name)
    return manifest


def _prune(builds: Path, keep: str) -> None:
    # keep the newest previous build too: a server that loaded it a moment ago may still be reading
    old = sorted((d for d in builds.iterdir() if d.is_dir() and d.name != keep), key=lambda d: d.name)
    for d in old[:-1]:
        shutil.rmtree(d, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / "current" / "manifest.json"
    if not path.exists():
        raise IndexError_(f"no index at {index_dir}: run `kb build`")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise IndexError_(f"{path} is unreadable ({exc.__class__.__name__}): run `kb build`") from exc


def check_fresh(manifest: Manifest, corpus_dir: Path, model: str) -> None:
    if manifest.format != FORMAT_VERSION:
        raise IndexStaleError(f"index format {manifest.format} is not {FORMAT_VERSION}: run `kb build`")
    if manifest.model != model:
        raise IndexStaleError(
            f"index was built with model {manifest.model!r} but KB_MODEL is {model!r}: run `kb build`"
        )
    if manifest.corpus_sha256 != corpus_digest(corpus_dir):
        raise IndexStaleError("the corpus changed since the index was built: run `kb build`")


def is_fresh(index_dir: Path, corpus_dir: Path, model: str) -> bool:
    try:
        check_fresh(read_manifest(index_dir), corpus_dir, model)
    except IndexError_:
        return False
    return True


def load_index(index_dir: Path, corpus_dir: Path, model: str) -> LoadedIndex:
    """Load `current`, refusing a stale, tampered or incomplete index with a message naming the fix."""
    manifest = read_manifest(index_dir)
    check_fresh(manifest, corpus_dir, model)
    folder = (index_dir / "current").resolve()
    for name, digest in manifest.files.items():
        f = folder / name
        if not f.is_file():
            raise IndexError_(f"index file {f} is missing: run `kb build`")
        if _sha256(f) != digest:
            raise IndexError_(
                f"index file {f} does not match its checksum (truncated or edited): run `kb build`"
            )
    return _open(folder, manifest)


def _open(folder: Path, manifest: Manifest) -> LoadedIndex:
    try:
        records = Records.model_validate_json((folder / "records.json").read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError) as exc:
        raise IndexError_(f"index at {folder} cannot be read ({exc}): run `kb build`") from exc
    catalog = Catalog(records)
    ctx = LoadContext(catalog, manifest.dimension)
    retrievers = [kind.load(ctx, folder) for kind in REGISTRY.values()]
    confidence, references = None, None
    if (folder / CONFIDENCE_FILE).exists():
        try:
            confidence = ConfidenceModel.load(folder)
            references = References.load(folder)
        except (ValidationError, ValueError, OSError) as exc:
            raise IndexError_(
                f"the confidence model in {folder} cannot be read ({exc}): run `kb build`"
            ) from exc
    return LoadedIndex(folder, manifest, catalog, retrievers, confidence, references)
