"""The corpus write lock: a second writer waits for the first, and gives up with `busy` after its timeout."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from service.curation.locks import corpus_lock
from service.errors import BusyError


def test_a_second_writer_waits_then_gives_up(tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with corpus_lock(tmp_path):
            held.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert held.wait(10)
    with pytest.raises(BusyError, match="holds"), corpus_lock(tmp_path, timeout=0.2):
        pass
    release.set()
    t.join(10)
    with corpus_lock(tmp_path, timeout=1):  # free again
        pass


def test_the_lock_is_reentrant_in_one_thread(tmp_path: Path) -> None:
    # `kb accept` holds it and calls a build, which takes it again
    with corpus_lock(tmp_path), corpus_lock(tmp_path, timeout=0.2):
        pass
