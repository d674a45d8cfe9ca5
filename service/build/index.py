"""Write the index folder: each registered retriever's files, the records and the manifest, then swap
`index/current` to the new build (the layout and the loading side are service/index.py's).

A build writes a fresh folder and swaps the symlink with one `os.replace`, so readers see the old index
or the new one, never half of either, and a crashed build leaves `current` untouched. Builds take
`index/.build.lock` (an OS file lock, released by the kernel even on kill -9), so two builds never
interleave: the second waits, then gives up. A build checks that its manifest lists every file the index
needs, and that each is there, before the swap.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from service.build.query_side import QuerySideBuilder
from service.catalog import Records
from service.corpus import Corpus
from service.embedder import Embedder
from service.errors import BuildBusyError
from service.index import (
    FORMAT_VERSION,
    LOCK_FILE,
    MANIFEST_FILE,
    RECORDS_FILE,
    LoadedIndex,
    Manifest,
    check_files,
    file_sha256,
    open_index,
)
from service.retrieval import REGISTRY, AnnConfig, BuildContext

__all__ = ["build_index", "build_lock"]

log = logging.getLogger("kb")


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
    ann: AnnConfig | None = None,
) -> Manifest:
    """Index the corpus into a new build folder (each registered retriever writes its own files), then
    make it `current`; one build at a time per index folder."""
    with build_lock(index_dir, lock_timeout, on_wait):
        return _build_locked(corpus, embedder, index_dir, query_side, finish, ann)


def _build_locked(
    corpus: Corpus,
    embedder: Embedder,
    index_dir: Path,
    query_side: QuerySideBuilder | None,
    finish: Callable[[Path, LoadedIndex], None] | None,
    ann: AnnConfig | None = None,
) -> Manifest:
    started = time.time()
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    tmp = builds / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        ctx = BuildContext(corpus.principles, embedder, query_side, ann)
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
            finish(tmp, open_index(tmp, draft))

        files = {f.relative_to(tmp).as_posix(): file_sha256(f) for f in sorted(tmp.rglob("*")) if f.is_file()}
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
        check_files(tmp, manifest, MANIFEST_FILE)
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
