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


def test_a_refusal_says_what_holds_the_corpus_and_when_to_ask_again(tmp_path: Path) -> None:
    refused: list[BusyError] = []

    def other_writer() -> None:  # another thread: the same thread would take the lock again
        try:
            with corpus_lock(tmp_path, timeout=0):
                pass
        except BusyError as exc:
            refused.append(exc)

    with corpus_lock(tmp_path, what="accept job abc123 (005_x)"):
        t = threading.Thread(target=other_writer)
        t.start()
        t.join(10)
    [exc] = refused
    assert "accept job abc123 (005_x) (process" in exc.message and exc.retry_after == 5
    assert str(tmp_path) not in exc.message  # no server path
    assert not (tmp_path / ".kb-write.holder").exists()  # gone with the lock
