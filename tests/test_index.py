"""Index plumbing on a small fake embedder: atomic swap, staleness, tampering, concurrent builds.

Retrieval quality is tested on the real model elsewhere."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.build.index import build_index, build_lock
from service.corpus import Corpus
from service.errors import IndexError_, IndexStaleError
from service.index import is_fresh, load_index
from service.settings import Settings

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture()
def built(tmp_path: Path, corpus: Corpus, fake_embedder: type) -> Path:  # type: ignore[type-arg]
    build_index(corpus, fake_embedder(), tmp_path / "index")
    return tmp_path / "index"


def test_build_then_load(built: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    index = load_index(built, CORPUS, "fake-embedder")
    assert index.manifest.principles == len(corpus.principles)
    dense = index.retriever("dense")
    assert dense.vectors.ntotal == index.manifest.vectors == len(dense.evidence)
    assert [p.id for p in index.catalog.principles] == sorted(p.id for p in corpus.principles)
    assert is_fresh(built, CORPUS, "fake-embedder")


def test_missing_index_says_run_build(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match=r"no index at .*run `kb build`"):
        load_index(tmp_path / "nowhere", CORPUS, "fake-embedder")


def test_other_model_is_refused(built: Path) -> None:
    with pytest.raises(IndexStaleError, match="built with model 'fake-embedder' but KB_MODEL is 'm3e-small'"):
        load_index(built, CORPUS, "m3e-small")


def test_changed_corpus_is_refused(built: Path, tmp_path: Path) -> None:
    changed = tmp_path / "corpus"
    shutil.copytree(CORPUS, changed)
    types = changed / "types.yaml"
    types.write_text(types.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(IndexStaleError, match="corpus changed"):
        load_index(built, changed, "fake-embedder")


@pytest.mark.parametrize("victim", ["records.json", "vectors.faiss", "vector_owners.json"])
def test_tampered_or_truncated_file_is_refused(built: Path, victim: str) -> None:
    f = (built / "current" / victim).resolve()
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(IndexError_, match=rf"{victim} does not match its checksum"):
        load_index(built, CORPUS, "fake-embedder")


def test_deleted_file_is_refused(built: Path) -> None:
    (built / "current" / "records.json").resolve().unlink()
    with pytest.raises(IndexError_, match=r"records\.json is missing"):
        load_index(built, CORPUS, "fake-embedder")


def test_crashed_build_leaves_previous_index_serving(
    built: Path, corpus: Corpus, fake_embedder: type
) -> None:  # type: ignore[type-arg]
    before = json.loads((built / "current" / "manifest.json").read_text(encoding="utf-8"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(corpus, fake_embedder(fail_after=5), built)
    after = json.loads((built / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert after == before
    assert load_index(built, CORPUS, "fake-embedder").manifest.built_at == before["built_at"]
    assert not [p for p in (built / "builds").iterdir() if p.name.startswith(".tmp")]


def test_rebuild_swaps_and_prunes(built: Path, corpus: Corpus, fake_embedder: type) -> None:  # type: ignore[type-arg]
    first = (built / "current").resolve()
    build_index(corpus, fake_embedder(), built)
    build_index(corpus, fake_embedder(), built)
    current = (built / "current").resolve()
    assert current != first
    assert len(list((built / "builds").iterdir())) == 2  # current plus the one before it


def test_settings_default_model_is_the_shipped_one() -> None:
    assert Settings().model == "m3e-small"


# -- concurrent builds, kill -9, the build lock ---------------------------------------------------------

WORKER = Path(__file__).resolve().parent / "build_worker.py"


def _worker(index_dir: Path, go: Path | None, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(WORKER), str(index_dir), *([str(go)] if go else [])]
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition: Callable[[], bool], what: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit  # a bound on a hang, not a performance assertion
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _tmp_folders(index_dir: Path) -> list[Path]:
    builds = index_dir / "builds"
    return [p for p in builds.iterdir() if p.name.startswith(".tmp-")] if builds.exists() else []


def test_two_builds_at_once_are_serialised(built: Path, tmp_path: Path) -> None:
    # issue 15.1: the second build pruned the first one's folder in progress; now it waits for the lock
    go = tmp_path / "go"
    first = _worker(built, go, tmp_path / "first.log")
    _wait_for(lambda: bool(_tmp_folders(built)), "the first build's folder")
    second = _worker(built, None, tmp_path / "second.log")
    second_log = tmp_path / "second.log"
    _wait_for(
        lambda: second.poll() is not None or "waiting" in second_log.read_text(), "the second build to wait"
    )
    go.touch()
    assert first.wait(60) == 0, (tmp_path / "first.log").read_text()
    assert second.wait(60) == 0, second_log.read_text()
    assert "another `kb build` is writing" in second_log.read_text()
    load_index(built, CORPUS, "fake-embedder")
    finished = list((built / "builds").iterdir())
    assert len(finished) == 2 and not _tmp_folders(built)  # both builds done, the newest two kept


def test_kill_9_during_a_build_leaves_current_loadable(
    built: Path, tmp_path: Path, corpus: Corpus, fake_embedder: type
) -> None:  # type: ignore[type-arg]
    before = load_index(built, CORPUS, "fake-embedder").manifest
    worker = _worker(built, tmp_path / "never", tmp_path / "worker.log")
    _wait_for(lambda: bool(_tmp_folders(built)), "the build's folder")
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)
    assert load_index(built, CORPUS, "fake-embedder").manifest == before
    # the kernel released the dead build's lock: the next build runs at once and clears its folder
    with build_lock(built, timeout=0):
        pass
    build_index(corpus, fake_embedder(), built, lock_timeout=0)
    assert not _tmp_folders(built)
    assert load_index(built, CORPUS, "fake-embedder").manifest.built_at >= before.built_at


def test_kb_build_waits_then_refuses_while_another_build_runs(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    env = {**os.environ, "KB_INDEX_DIR": str(index_dir), "KB_BUILD_LOCK_TIMEOUT": "0.5"}
    with build_lock(index_dir, timeout=0):
        proc = subprocess.run(
            [sys.executable, "-c", "from service.cli import main; main()", "build"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("another `kb build` is writing")
    assert lines[-1].startswith("error: 另一个 kb build 正在进行(another `kb build` still holds")
    assert "Traceback" not in proc.stderr
    assert not (index_dir / "current").exists()


def test_a_build_missing_a_file_is_never_swapped_in(built: Path, corpus: Corpus, fake_embedder: type) -> None:  # type: ignore[type-arg]
    # a query side that says it wrote the encoder but left nothing: the manifest would need files
    # that are not there, so the build fails before the swap and `current` stays as it was
    before = (built / "current").resolve()
    with pytest.raises(IndexError_, match=r"manifest\.json does not list encoder/model\.int8\.onnx"):
        build_index(
            corpus,
            fake_embedder(),
            built,
            query_side=lambda folder, docs: {"encoder": "encoder", "query_model": None},
        )
    assert (built / "current").resolve() == before
    assert not _tmp_folders(built)


# -- the manifest checked on its own --------------------------------------------------------------------


def _rewrite_manifest(built: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Edit the manifest and re-sign it, as someone who knows the format would."""
    path = (built / "current" / "manifest.json").resolve()
    raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    body = {k: v for k, v in raw.items() if k != "manifest_sha256"}
    raw["manifest_sha256"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def _drop_records(raw: dict[str, Any]) -> None:
    del raw["files"]["records.json"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.update(encoder="../../../../tmp"), "is not a path inside the build folder"),
        (lambda raw: raw.update(encoder="/tmp"), "is not a path inside the build folder"),
        (lambda raw: raw["files"].update({"../escape": "0" * 64}), "is not a path inside the build folder"),
        (lambda raw: raw.update(surprise=1), "Extra inputs are not permitted"),
        (lambda raw: raw.update(principles="166"), "Input should be a valid integer"),
        (lambda raw: raw.update(signals=["dense", "bm25", "nope"]), "unknown signal 'nope'"),
        (lambda raw: raw["files"].pop("vectors.faiss"), "does not list vectors.faiss"),
        (_drop_records, "does not list records.json"),
    ],
)
def test_a_tampered_manifest_is_refused_naming_it(built: Path, change: Any, message: str) -> None:
    _rewrite_manifest(built, change)
    with pytest.raises(IndexError_, match=re.escape(message)) as exc:
        load_index(built, CORPUS, "fake-embedder")
    assert "index manifest " in exc.value.message and "run `kb build`" in exc.value.message


def test_an_emptied_records_file_unlisted_in_the_manifest_is_refused(built: Path) -> None:
    # issue 15.6: this gave a ValueError traceback from the search code
    _rewrite_manifest(built, _drop_records)
    (built / "current" / "records.json").resolve().write_text("", encoding="utf-8")
    with pytest.raises(IndexError_, match=r"manifest\.json does not list records\.json"):
        load_index(built, CORPUS, "fake-embedder")


def test_damage_inside_the_manifest_is_blamed_on_the_manifest(built: Path) -> None:
    path = (built / "current" / "manifest.json").resolve()
    text = path.read_text(encoding="utf-8")
    digest = json.loads(text)["files"]["vectors.faiss"]
    path.write_text(text.replace(digest, "0000" + digest[4:]), encoding="utf-8")  # four bytes
    with pytest.raises(IndexError_, match=r"index manifest .*manifest\.json does not match its own checksum"):
        load_index(built, CORPUS, "fake-embedder")


def test_cli_refuses_a_tampered_manifest_in_one_line(built: Path) -> None:
    _rewrite_manifest(built, lambda raw: raw.update(encoder="../../../../tmp"))
    env = {**os.environ, "KB_INDEX_DIR": str(built), "KB_MODEL": "fake-embedder"}
    proc = subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "search", "群"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: 索引缺失或损坏(index manifest"), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
