"""Build, save and load the index folder: FAISS vectors, BM25, principle records and a manifest.

Layout: `index/current` is a symlink to `index/builds/<stamp>`. A build writes a fresh folder and swaps the
symlink with one `os.replace`, so readers see the old index or the new one, never half of either, and a
crashed build leaves `current` untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from service.corpus import Corpus, corpus_digest
from service.embedder import Embedder, Vectors
from service.errors import IndexError_, IndexStaleError
from service.models import GroupInfo, IndexSummary, Principle, TypeInfo
from service.normalize import normalize_text
from service.tokens import tokenize

# 2: the index carries the ONNX query encoder
FORMAT_VERSION = 2
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])")
_CLAUSE_END = re.compile(r"(?<=[，,：:])")
MAX_SENTENCE_CHARS = 80
ENCODER_DIR = "encoder"

# Writes the query encoder into the given folder of a build, before the checksums are taken; gets the
# embedded texts and their vectors to check itself against; says whether it wrote anything.
EncoderExport = Callable[[Path, list[str], Vectors], bool]


class Manifest(IndexSummary):
    """manifest.json: what /health shows, plus what loading checks."""

    format: int
    build_seconds: float
    files: dict[str, str] = Field(description="sha256 of every other file in the folder")
    encoder: str | None = Field(
        None, description="sub-folder holding the int8 ONNX query encoder; None when the export failed"
    )

    def summary(self) -> IndexSummary:
        return IndexSummary.model_validate(self.model_dump(include=set(IndexSummary.model_fields)))


class Records(BaseModel):
    principles: list[Principle]
    types: list[TypeInfo]
    groups: list[GroupInfo]


@dataclass(frozen=True)
class VectorOwner:
    principle: int  # position in Records.principles
    field: str  # title | summary | advice | symptom | question | keyword | passage
    text: str  # the normalised text that was embedded


@dataclass(frozen=True)
class LoadedIndex:
    path: Path
    manifest: Manifest
    records: Records
    owners: list[VectorOwner]
    vectors: Any  # faiss.IndexFlatIP
    bm25: Any  # bm25s.BM25

    @property
    def encoder_dir(self) -> Path | None:
        return self.path / self.manifest.encoder if self.manifest.encoder else None


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, long ones cut at commas: m3e matches sentence to sentence far better
    than sentence to passage, so each passage contributes one vector per sentence."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if len(sentence) <= MAX_SENTENCE_CHARS:
            out.append(sentence)
            continue
        chunk = ""
        for clause in _CLAUSE_END.split(sentence):
            if chunk and len(chunk) + len(clause) > MAX_SENTENCE_CHARS:
                out.append(chunk)
                chunk = ""
            chunk += clause
        out.append(chunk)
    return [s for s in (s.strip() for s in out) if len(s) >= 6]


def principle_fields(p: Principle) -> list[tuple[str, str]]:
    """What gets embedded for one principle, each (field, normalised text)."""
    fields = [("title", p.title), ("summary", p.summary)]
    if p.advice:
        fields.append(("advice", p.advice))
    fields += [("symptom", s) for s in p.symptoms]
    fields += [("question", q) for q in p.questions]
    fields += [("keyword", k) for k in p.keywords if len(k) >= 2]
    fields += [("passage", s) for s in split_sentences(p.source.quote)]
    seen: set[str] = set()
    out = []
    for field, text in fields:
        norm = normalize_text(text)
        if norm not in seen:
            seen.add(norm)
            out.append((field, norm))
    return out


def bm25_document(p: Principle) -> list[str]:
    fields = [p.title, p.summary, p.advice or "", *p.symptoms, *p.questions, *p.keywords, p.source.quote]
    text = " ".join(fields)
    return tokenize(normalize_text(text))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


def build_index(
    corpus: Corpus, embedder: Embedder, index_dir: Path, export: EncoderExport | None = None
) -> Manifest:
    """Embed and index the corpus into a new build folder, then make it `current`."""
    import bm25s
    import faiss

    started = time.time()
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    tmp = builds / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        owners: list[VectorOwner] = []
        for i, p in enumerate(corpus.principles):
            owners += [VectorOwner(i, field, text) for field, text in principle_fields(p)]
        vecs = embedder.encode([o.text for o in owners])
        flat = faiss.IndexFlatIP(vecs.shape[1])  # inner product on unit vectors == cosine similarity
        flat.add(vecs)
        faiss.write_index(flat, str(tmp / "vectors.faiss"))
        _write_json(tmp / "vector_owners.json", [[o.principle, o.field, o.text] for o in owners])
        exported = export is not None and export(tmp / ENCODER_DIR, [o.text for o in owners], vecs)

        bm25 = bm25s.BM25()
        bm25.index([bm25_document(p) for p in corpus.principles], show_progress=False)
        bm25.save(str(tmp / "bm25"), show_progress=False)

        records = Records(principles=corpus.principles, types=corpus.types, groups=corpus.groups)
        (tmp / "records.json").write_text(records.model_dump_json(indent=1), encoding="utf-8")

        files = {str(f.relative_to(tmp)): _sha256(f) for f in sorted(tmp.rglob("*")) if f.is_file()}
        manifest = Manifest(
            format=FORMAT_VERSION,
            model=embedder.name,
            dimension=int(vecs.shape[1]),
            principles=len(corpus.principles),
            vectors=len(owners),
            corpus_sha256=corpus.digest,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            build_seconds=round(time.time() - started, 2),
            files=files,
            encoder=ENCODER_DIR if exported else None,
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
    import bm25s
    import faiss

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
    try:
        records = Records.model_validate_json((folder / "records.json").read_text(encoding="utf-8"))
        owners = [
            VectorOwner(int(i), str(f), str(t))
            for i, f, t in json.loads((folder / "vector_owners.json").read_text(encoding="utf-8"))
        ]
        vectors = faiss.read_index(str(folder / "vectors.faiss"))
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    except (ValidationError, ValueError, RuntimeError, OSError) as exc:
        raise IndexError_(f"index at {folder} cannot be read ({exc}): run `kb build`") from exc
    if vectors.ntotal != len(owners) or vectors.d != manifest.dimension:
        raise IndexError_(f"index at {folder} is inconsistent with its manifest: run `kb build`")
    return LoadedIndex(folder, manifest, records, owners, vectors, bm25)
