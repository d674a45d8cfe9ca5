"""A `kb build` of its own process on the fake embedder, for the concurrency tests of test_index.py:
`python tests/build_worker.py INDEX_DIR [GO_FILE]`. With GO_FILE, the build stops inside its build folder
(after creating it, before writing the vectors) until that file exists."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import FakeEmbedder

from service.build.index import build_index
from service.corpus import load_corpus
from service.embedder import Vectors
from service.settings import Settings


class GatedEmbedder(FakeEmbedder):
    def __init__(self, go: Path | None) -> None:
        super().__init__()
        self.go = go

    def encode(self, texts: list[str]) -> Vectors:
        while self.go is not None and not self.go.exists():
            time.sleep(0.05)
        return super().encode(texts)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    index_dir = Path(sys.argv[1])
    go = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    m = build_index(load_corpus(Settings().corpus_dir), GatedEmbedder(go), index_dir)
    print(f"built {m.built_at}")
