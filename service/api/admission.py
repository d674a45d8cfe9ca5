"""Admission control: a bounded number of expensive requests at work, a short queue, then a fast 503.

Under overload every request used to queue, so all of them got slow (p99 1.5 s for /search and 3.7 s for
/diagnose at concurrency 256 on two cores). Now at most `running` expensive requests (search, ask,
diagnose, tools/call, MCP calls: the routes declared `costly`) work at once and `queued` more wait; any
request beyond those is refused at once with 503 `overloaded` and `Retry-After`, before its body is
read. A request is also refused at once when the wait it would face, estimated from how long recent
requests held a slot, exceeds `wait_budget` seconds: a fixed queue length means a fixed latency only
if the machine's speed is fixed, and a shared machine's is not. Cheap routes (health, metrics,
browsing) are never held back. One instance per app, on `app.state.admission`; it lives on the event
loop, so its counters need no lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Admission", "Overloaded"]


class Overloaded(Exception):
    """Every slot and every place in the queue is taken."""


# weight of the newest request in the smoothed time a request holds a slot
_SMOOTHING = 0.1


class Admission:
    def __init__(self, running: int, queued: int, retry_after: int = 1, wait_budget: float = 0.15) -> None:
        self.running = running
        self.queued = queued
        self.retry_after = retry_after
        self.wait_budget = wait_budget
        self._slots: asyncio.Semaphore | None = None
        self._admitted = 0  # working or waiting
        self._held = 0.0  # smoothed seconds a request holds a slot

    def expected_wait(self) -> float:
        """Seconds a request arriving now would wait for a slot, judging by recent requests."""
        ahead = self._admitted - self.running + 1  # waiting before it, and itself
        return max(0, ahead) * self._held / self.running

    @property
    def admitted(self) -> int:
        return self._admitted

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot while the request works; raises Overloaded at once when the queue is full."""
        if self._admitted >= self.running + self.queued or self.expected_wait() > self.wait_budget:
            raise Overloaded
        if self._slots is None:  # made on the serving loop, not wherever the app was built
            self._slots = asyncio.Semaphore(self.running)
        self._admitted += 1
        try:
            async with self._slots:
                started = time.perf_counter()
                try:
                    yield
                finally:
                    held = time.perf_counter() - started
                    self._held += _SMOOTHING * (held - self._held)
        finally:
            self._admitted -= 1

    def message(self) -> str:
        return (
            f"the server is at capacity ({self._admitted} requests at work or waiting): "
            f"retry after {self.retry_after} s"
        )
