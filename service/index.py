"""The index folder as serving reads it: its layout, the manifest, loading and the freshness check.
service/build/index.py writes it.

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
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, ValidationError

from service.catalog import Catalog, Records
from service.confidence import CONFIDENCE_FILE, REFERENCES_FILE, ConfidenceModel, References
from service.corpus import corpus_digest
from service.embedder import ONNX_FILES
from service.errors import IndexError_, IndexStaleError, describe_validation
from service.models import IndexSummary
from service.retrieval import REGISTRY, LoadContext, Retriever

__all__ = [
    "ADAPTED_DIR",
    "FORMAT_VERSION",
    "LOCK_FILE",
    "MANIFEST_FILE",
    "RECORDS_FILE",
    "LoadedIndex",
    "Manifest",
    "check_files",
    "file_sha256",
    "is_fresh",
    "load_index",
    "open_index",
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
# the adapted query encoders, one folder per training key (service/build/query_side.py)
ADAPTED_DIR = "adapted"


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
            needed += [f"{self.encoder}/{f}" for f in ONNX_FILES]
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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def check_files(folder: Path, manifest: Manifest, manifest_name: str | Path) -> None:
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
        if file_sha256(f) != digest:
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


def check_index(index_dir: Path, corpus_dir: Path, model: str) -> None:
    """What `load_index` refuses, checked without loading: for `kb serve --workers`' supervisor, which
    serves nothing itself, so that a bad index is one error line, not a worker failing N times."""
    manifest = read_manifest(index_dir)
    check_fresh(manifest, corpus_dir, model)
    folder = (index_dir / "current").resolve()
    check_files(folder, manifest, folder / MANIFEST_FILE)


def load_index(index_dir: Path, corpus_dir: Path, model: str, stale_ok: bool = False) -> LoadedIndex:
    """Load `current`, refusing a stale, tampered or incomplete index with a message naming the fix.
    `stale_ok`: a corpus changed since the build is accepted (the curators' query-log commands, whose
    actions change the corpus and must not lock each other out until a rebuild); never for serving."""
    manifest = read_manifest(index_dir)
    check_fresh(manifest, corpus_dir, model, corpus=not stale_ok)
    folder = (index_dir / "current").resolve()
    check_files(folder, manifest, folder / MANIFEST_FILE)
    return open_index(folder, manifest)


def open_index(folder: Path, manifest: Manifest) -> LoadedIndex:
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
