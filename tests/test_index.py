"""Index plumbing on a small fake embedder: atomic swap, staleness, tampering.

Retrieval quality is tested on the real model elsewhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.corpus import Corpus
from service.errors import IndexError_, IndexStaleError
from service.index import build_index, is_fresh, load_index
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
