"""One lock for everything that writes the corpus or builds the index from it: `kb add`, `kb accept`,
`kb remove`, `kb build` and the admin routes that do the same. Two of them at once would read a
half-written corpus or interleave two builds; with the lock, the second waits (or fails after
`timeout` seconds with a message that says who holds it).

A file lock (filelock) so that it holds across processes: a CLI command, a serving process and the
child process of an accept job share it. One lock object per path in a process (`is_singleton`), so that
a command holding it may call a build that takes it again.

Whoever takes the lock first writes what it is doing into a holder file beside it (the lock file itself
is truncated by every attempt to take it), so that a refusal can say what holds the corpus and whether
retrying helps. The HTTP edge never waits (timeout 0): a request waiting on the lock would hold one of
the threads every route shares.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from service.errors import BusyError

__all__ = ["HOLDER_FILE", "LOCK_FILE", "RETRY_AFTER_SECONDS", "corpus_lock", "holder"]

LOCK_FILE = ".kb-write.lock"
HOLDER_FILE = ".kb-write.holder"
# an edit refused during a build: an incremental build takes seconds to minutes, so ask again soon
RETRY_AFTER_SECONDS = 5
_DEFAULT_WHAT = "a `kb build`, `kb add`, `kb accept` or `kb remove`"


def holder(corpus_dir: Path) -> str:
    """What holds the corpus lock, as a person reads it (from the holder file; generic if unreadable)."""
    try:
        data = json.loads((corpus_dir / HOLDER_FILE).read_text(encoding="utf-8"))
        what, pid, since = str(data["what"]), int(data["pid"]), float(data["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return _DEFAULT_WHAT
    return f"{what} (process {pid}, for {max(0, round(time.time() - since))} s)"


@contextmanager
def corpus_lock(corpus_dir: Path, timeout: float = 600.0, what: str = "") -> Iterator[None]:
    """Hold the corpus write lock (a file beside the corpus folder's contents, never part of the digest).
    `what` says what the holder is doing, for the message of anyone refused meanwhile."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    # the timeout goes to acquire(): a singleton refuses to be created again with other arguments
    lock = FileLock(str(corpus_dir / LOCK_FILE), is_singleton=True)
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        waited = f"; waited {timeout:.0f} s" if timeout >= 1 else ""
        raise BusyError(
            f"the corpus is busy: {holder(corpus_dir)} holds it{waited}; nothing was changed. "
            f"Retry in {RETRY_AFTER_SECONDS} s or when it is done",
            retry_after=RETRY_AFTER_SECONDS,
        ) from exc
    outermost = lock.lock_counter == 1
    mark = corpus_dir / HOLDER_FILE
    if outermost:
        body = {"what": what or _DEFAULT_WHAT, "pid": os.getpid(), "since": time.time()}
        mark.write_text(json.dumps(body), encoding="utf-8")
    try:
        yield
    finally:
        if outermost:
            mark.unlink(missing_ok=True)
        lock.release()
