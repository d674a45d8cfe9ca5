"""A publish job's child process (service/curation/worker.py) on the fake embedder, so that the tests'
accept and remove jobs build in a second: `python tests/fake_worker.py JOB_FILE SETTINGS_FILE`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakes import FakeEmbedder

from service.curation.worker import main

if __name__ == "__main__":
    sys.exit(main(embedder=FakeEmbedder()))
