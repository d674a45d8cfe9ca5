"""EventWriter: one background thread that writes events in batches, so that no request waits on the
database. The queue is bounded: when the database is slow or gone, new events are dropped and counted
(kb_events_dropped_total), and the queries themselves are never delayed or failed."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.store.events import EventRecord, prune, to_row

__all__ = ["EventWriter"]

log = logging.getLogger("kb.store")

BATCH = 256
PRUNE_EVERY_S = 86_400.0
_WARN_EVERY_S = 60.0
_STOP = object()


class EventWriter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        maxsize: int,
        retention_days: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._queue: queue.Queue[object] = queue.Queue(maxsize)
        self._retention_days = retention_days
        self._clock = clock
        self._lock = threading.Lock()
        self._dropped = 0
        self._written = 0
        self._warned_at = -_WARN_EVERY_S
        self._thread = threading.Thread(target=self._run, name="kb-event-writer", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def written(self) -> int:
        return self._written

    def put(self, rec: EventRecord) -> None:
        """Queue one event; never blocks."""
        try:
            self._queue.put_nowait(rec)
        except queue.Full:
            self._drop(1, "the event queue is full (the database is slow or unreachable)")

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event is written (or dropped); False if that took over `timeout`."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        next_prune = self._clock()
        while True:
            if self._clock() >= next_prune:
                self._prune()
                next_prune = self._clock() + PRUNE_EVERY_S
            try:
                first = self._queue.get(timeout=max(0.0, next_prune - self._clock()))
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if isinstance(r, EventRecord)]
            try:
                if records:
                    self._write(records)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if any(r is _STOP for r in batch):
                return

    def _write(self, records: list[EventRecord]) -> None:
        try:
            with self._sessions.begin() as session:
                session.add_all([to_row(r) for r in records])
        except SQLAlchemyError as exc:
            self._drop(len(records), f"writing events failed: {str(exc).splitlines()[0]}")
            return
        with self._lock:
            self._written += len(records)

    def _prune(self) -> None:
        try:
            with self._sessions.begin() as session:
                gone = prune(session, self._retention_days)
        except SQLAlchemyError as exc:
            log.warning("pruning the query log failed: %s", str(exc).splitlines()[0])
            return
        if gone:
            log.info("pruned %d events older than %d days", gone, self._retention_days)

    def _drop(self, n: int, why: str) -> None:
        with self._lock:
            self._dropped += n
            warn = self._clock() - self._warned_at >= _WARN_EVERY_S
            if warn:
                self._warned_at = self._clock()
        if warn:  # once a minute at most: a database outage must not flood the log
            log.warning("dropped %d events (%d in all): %s", n, self._dropped, why)
