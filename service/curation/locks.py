"""One lock for everything that writes the corpus or builds the index from it: `kb add`, `kb accept`,
`kb remove`, `kb build` and the admin routes that do the same. Two of them at once would read a
half-written corpus or interleave two builds; with the lock, the second waits (or fails after
`timeout` seconds with a message that says who holds it).

A file lock (filelock) so that it holds across processes: a CLI command and a serving process share it.
One lock object per path in a process (`is_singleton`), so that a command holding it may call a build
that takes it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from service.errors import BusyError

__all__ = ["LOCK_FILE", "corpus_lock"]

LOCK_FILE = ".kb-write.lock"


@contextmanager
def corpus_lock(corpus_dir: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold the corpus write lock (a file beside the corpus folder's contents, never part of the digest)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    # the timeout goes to acquire(): a singleton refuses to be created again with other arguments
    lock = FileLock(str(corpus_dir / LOCK_FILE), is_singleton=True)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        raise BusyError(
            f"another `kb build`, `kb add`, `kb accept` or `kb remove` holds {lock.lock_file}; "
            f"waited {timeout:.0f}s"
        ) from exc
    try:
        yield
    finally:
        lock.release()
