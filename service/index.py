"""Build, save and load the index folder: FAISS vectors, BM25, principle records and a manifest.

Layout: `index/current` is a symlink to `index/builds/<stamp>`. A build writes a fresh folder and swaps the
symlink with one `os.replace`, so readers see the old index or the new one, never half of either, and a
crashed build leaves `current` untouched. Builds take `index/.build.lock` (an OS file lock, released by
the kernel even on kill -9), so two builds never interleave: the second waits, then gives up. A build
checks that its manifest lists every file the index needs, and that each is there, before the swap.

The manifest is checked on its own too: a strict model whose paths stay inside the build folder, and a
checksum of itself, so damage to it is blamed on it and not on the files it lists.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated

from filelock import FileLock, Timeout
from pydantic import AfterValidator, ConfigDict, Field, ValidationError

from service.catalog import Catalog, Records
from service.confidence import CONFIDENCE_FILE, REFERENCES_FILE, ConfidenceModel, References
from service.corpus import Corpus, corpus_digest
from service.embedder import ONNX_CONFIG_FILE, ONNX_MODEL_FILE, ONNX_TOKENIZER_FILE, Embedder
from service.errors import BuildBusyError, IndexError_, IndexStaleError, describe_validation
from service.models import IndexSummary
from service.query_model import ADAPTED_DIR, QuerySideBuilder
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

log = logging.getLogger("kb")

# 2: the index carries the ONNX query encoder; 3: the manifest is strict and carries its own checksum,
# the index an adapted query encoder and a confidence model; 4: dense scores keyword vectors only for
# keyword-length queries, so the confidence model is refitted on those scores
FORMAT_VERSION = 4
MANIFEST_FILE = "manifest.json"
RECORDS_FILE = "records.json"
LOCK_FILE = ".build.lock"
ENCODER_FILES = (ONNX_MODEL_FILE, ONNX_TOKENIZER_FILE, ONNX_CONFIG_FILE)


def _inside(path: str) -> str:
    """A path relative to the build folder that cannot leave it: no root, no `..`, no empty part."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or "\\" in path or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"{path!r} is not a path inside the build folder")
    return path


def _known_signals(names: list[str]) -> list[str]:
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown signal {unknown[0]!r}")
    return names


InsidePath = Annotated[str, AfterValidator(_inside)]
_SHA256 = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(IndexSummary):
    """manifest.json: what /health shows, plus what loading checks."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: int
    build_seconds: float
    files: dict[InsidePath, Annotated[str, _SHA256]] = Field(
        description="sha256 of every other file in the folder"
    )
    encoder: InsidePath | None = Field(
        None, description="sub-folder holding the int8 ONNX query encoder; None when the export failed"
    )
    query_model: str | None = Field(
        None,
        pattern=rf"^{ADAPTED_DIR}/[0-9a-f]{{16}}$",
        description="the adapted query encoder on torch, relative to the index folder (it is shared by "
        "builds, so it lives beside them); None: the base model",
    )
    signals: Annotated[list[str], AfterValidator(_known_signals)] = Field(
        description="the retrievers built into this index"
    )
    manifest_sha256: Annotated[str, _SHA256] = Field(
        description="sha256 of this manifest's other fields (see `digest`): damage to the manifest "
        "itself is then told apart from damage to a file it lists"
    )

    def summary(self) -> IndexSummary:
        return IndexSummary.model_validate(self.model_dump(include=set(IndexSummary.model_fields)))

    def digest(self) -> str:
        body = self.model_dump(mode="json", exclude={"manifest_sha256"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def required(self) -> list[str]:
        """What the index cannot be read without: the records, each signal's files, the encoder's."""
        needed = [RECORDS_FILE]
        for kind in REGISTRY.values():  # every registered retriever is loaded, listed or not
            needed += kind.files
        if self.encoder:
            needed += [f"{self.encoder}/{f}" for f in ENCODER_FILES]
        if CONFIDENCE_FILE in self.files or REFERENCES_FILE in self.files:
            needed += [CONFIDENCE_FILE, REFERENCES_FILE]  # one is no use without the other
        return needed

    def missing(self) -> list[str]:
        """The required paths the manifest does not list (a folder counts when it lists a file in it)."""
        return [
            need
            for need in self.required()
            if need not in self.files and not any(f.startswith(need + "/") for f in self.files)
        ]


@dataclass(frozen=True)
class LoadedIndex:
    path: Path
    manifest: Manifest
    catalog: Catalog
    retrievers: list[Retriever]  # in REGISTRY order
    confidence: ConfidenceModel | None = None  # None: an index built without calibration requests
    references: References | None = None

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


@contextmanager
def build_lock(
    index_dir: Path, timeout: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index folder's build lock: wait up to `timeout` s for another build (saying so), then
    refuse with BuildBusyError."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (on_wait or log.warning)(
            f"another `kb build` is writing {index_dir}: waiting up to {timeout:g} s for it to finish"
        )
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise BuildBusyError(
                f"another `kb build` still holds {index_dir / LOCK_FILE} after {timeout:g} s: "
                "let it finish, then run `kb build` again (KB_BUILD_LOCK_TIMEOUT sets the wait)"
            ) from None
    try:
        yield
    finally:
        lock.release()


def build_index(
    corpus: Corpus,
    embedder: Embedder,
    index_dir: Path,
    query_side: QuerySideBuilder | None = None,
    finish: Callable[[Path, LoadedIndex], None] | None = None,
    lock_timeout: float = 600.0,
    on_wait: Callable[[str], None] | None = None,
) -> Manifest:
    """Index the corpus into a new build folder (each registered retriever writes its own files), then
    make it `current`; one build at a time per index folder."""
    with build_lock(index_dir, lock_timeout, on_wait):
        return _build_locked(corpus, embedder, index_dir, query_side, finish)


def _build_locked(
    corpus: Corpus,
    embedder: Embedder,
    index_dir: Path,
    query_side: QuerySideBuilder | None,
    finish: Callable[[Path, LoadedIndex], None] | None,
) -> Manifest:
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
        (tmp / RECORDS_FILE).write_text(records.model_dump_json(indent=1), encoding="utf-8")
        if finish is not None:
            # steps that need the built index itself (fitting the confidence model), before the checksums;
            # the draft manifest is never written, so it is not validated
            values: dict[str, object] = {
                "format": FORMAT_VERSION, "model": embedder.name, "principles": len(corpus.principles),
                "corpus_sha256": corpus.digest, "built_at": "", "build_seconds": 0.0, "files": {},
                "signals": list(REGISTRY), "manifest_sha256": "", **fields,
            }  # fmt: skip
            draft = Manifest.model_construct(**values)  # type: ignore[arg-type]
            finish(tmp, _open(tmp, draft))

        files = {f.relative_to(tmp).as_posix(): _sha256(f) for f in sorted(tmp.rglob("*")) if f.is_file()}
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
                "manifest_sha256": "0" * 64,
                **fields,
            }
        )
        manifest = manifest.model_copy(update={"manifest_sha256": manifest.digest()})
        # what loading will check, checked before the swap: a build missing a file never becomes current
        _check_files(tmp, manifest, MANIFEST_FILE)
        (tmp / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=1), encoding="utf-8")
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
    """Delete finished builds but `keep` and the newest one before it (a server that loaded it a moment
    ago may still be reading). Runs under the build lock, so a `.tmp-*` folder here is a build that
    died (kill -9) and no other build's work in progress; those go too."""
    finished = sorted(
        (d for d in builds.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != keep),
        key=lambda d: d.name,
    )
    dead = [d for d in builds.iterdir() if d.is_dir() and d.name.startswith(".tmp-")]
    for d in [*finished[:-1], *dead]:
        shutil.rmtree(d, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / "current" / MANIFEST_FILE
    if not path.exists():
        raise IndexError_(f"no index at {index_dir}: run `kb build`")
    try:
        raw = json.loads(path.read_bytes())
        if isinstance(raw, dict) and raw.get("format") != FORMAT_VERSION:
            raise IndexStaleError(f"index format {raw.get('format')} is not {FORMAT_VERSION}: run `kb build`")
        manifest = Manifest.model_validate(raw)
    except (ValidationError, ValueError, OSError) as exc:
        detail = describe_validation(exc.errors()) if isinstance(exc, ValidationError) else str(exc)
        raise IndexError_(f"index manifest {path} is invalid ({detail}): run `kb build`") from exc
    if manifest.digest() != manifest.manifest_sha256:
        raise IndexError_(
            f"index manifest {path} does not match its own checksum (edited or damaged): run `kb build`"
        )
    return manifest


def _check_files(folder: Path, manifest: Manifest, manifest_name: str | Path) -> None:
    """Every required file listed, every listed file present inside `folder` with its checksum."""
    missing = manifest.missing()
    if missing:
        raise IndexError_(
            f"index manifest {manifest_name} does not list {', '.join(missing)}: run `kb build`"
        )
    root = folder.resolve()
    for name, digest in manifest.files.items():
        f = folder / name
        if not f.resolve().is_relative_to(root):
            raise IndexError_(f"index file {f} points outside {folder}: run `kb build`")
        if not f.is_file():
            raise IndexError_(f"index file {f} is missing: run `kb build`")
        if _sha256(f) != digest:
            raise IndexError_(
                f"index file {f} does not match its checksum (truncated or edited): run `kb build`"
            )


def check_fresh(manifest: Manifest, corpus_dir: Path, model: str, corpus: bool = True) -> None:
    if manifest.format != FORMAT_VERSION:
        raise IndexStaleError(f"index format {manifest.format} is not {FORMAT_VERSION}: run `kb build`")
    if manifest.model != model:
        raise IndexStaleError(
            f"index was built with model {manifest.model!r} but KB_MODEL is {model!r}: run `kb build`"
        )
    if corpus and manifest.corpus_sha256 != corpus_digest(corpus_dir):
        raise IndexStaleError("the corpus changed since the index was built: run `kb build`")


def is_fresh(index_dir: Path, corpus_dir: Path, model: str) -> bool:
    try:
        check_fresh(read_manifest(index_dir), corpus_dir, model)
    except IndexError_:
        return False
    return True


def load_index(index_dir: Path, corpus_dir: Path, model: str, stale_ok: bool = False) -> LoadedIndex:
    """Load `current`, refusing a stale, tampered or incomplete index with a message naming the fix.
    `stale_ok`: a corpus changed since the build is accepted (the curators' query-log commands, whose
    actions change the corpus and must not lock each other out until a rebuild); never for serving."""
    manifest = read_manifest(index_dir)
    check_fresh(manifest, corpus_dir, model, corpus=not stale_ok)
    folder = (index_dir / "current").resolve()
    _check_files(folder, manifest, folder / MANIFEST_FILE)
    return _open(folder, manifest)


def _open(folder: Path, manifest: Manifest) -> LoadedIndex:
    try:
        records = Records.model_validate_json((folder / RECORDS_FILE).read_text(encoding="utf-8"))
        if len(records.principles) != manifest.principles:
            raise ValueError(f"{len(records.principles)} principles, the manifest says {manifest.principles}")
        catalog = Catalog(records)
        ctx = LoadContext(catalog, manifest.dimension)
        retrievers = [kind.load(ctx, folder) for kind in REGISTRY.values()]
        confidence, references = None, None
        if (folder / CONFIDENCE_FILE).exists():
            confidence, references = ConfidenceModel.load(folder), References.load(folder)
    except (ValidationError, ValueError, RuntimeError, OSError) as exc:
        raise IndexError_(f"index at {folder} cannot be read ({exc}): run `kb build`") from exc
    return LoadedIndex(folder, manifest, catalog, retrievers, confidence, references)
