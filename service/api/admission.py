"""Admission control: how many expensive requests work at once is learnt from their latency (Envoy's
adaptive-concurrency gradient controller); the rest wait in a queue as long as their expected wait is
within a deadline; beyond it they are refused at once with 503 `overloaded` and Retry-After.

The limit follows the gradient controller of Envoy's adaptive concurrency filter
(source/extensions/filters/http/adaptive_concurrency/controller/gradient_controller.cc, and its docs
page "Adaptive Concurrency"), with its defaults unless said:

- minRTT, the latency of a request when the server is not queueing, is measured in a window in which
  the limit is held at `min_concurrency` (3): the median of the first 50 requests that start in it.
  The window opens at start, every 30 s after (plus up to 15 % jitter), and whenever the limit has
  sat at its minimum for 5 windows in a row (the minRTT is probably wrong then).
- Every 100 ms (`update_interval`) the median latency of the requests finished since, sampleRTT, moves
  the limit:

      gradient = clamp(minRTT * 1.25 / sampleRTT, 0.5, 2.0)
      limit    = clamp(limit * gradient + sqrt(limit * gradient), min_concurrency, max_limit)

On two cores a request is mostly CPU work under one GIL: once the cores are busy each extra request at
work lengthens everyone's time at work, the gradient falls below 1 and the limit settles at a few
requests per worker (about minRTT's concurrency * 1.25 plus the square-root headroom).

Netflix's Gradient2Limit (concurrency-limits) was the first candidate: its baseline is a long
exponential average of the same latencies it controls, so under a sustained closed loop the baseline
rises with the limit and the limit climbs to its maximum (a simulation of this machine took it to 32
in 3,000 requests); Envoy's baseline is measured at a pinned low concurrency, so it cannot drift.

The queue is ours (Envoy refuses at once beyond the limit). A request that finds the limit reached
waits if the wait it would face, `(waiting ahead + 1) * time between completions` (the median, over
the latest 32 requests, of each one's time at work over the number at work with it), is within
`deadline` seconds; else it is refused before its body is read. That keeps a closed loop of 16
clients, which this machine serves at about 200 requests/s, out of refusals though a queue exists:
CoDel ("Fail at Scale", ACM Queue 2015) would shed a standing queue after one interval, and a closed
loop of clients keeps one by design. A hard cap (`max_queued`) bounds the queue's memory.

Admission is per process: with `kb serve --workers N` each worker learns its own limit and keeps its
own queue. One instance per app (`app.state.admission`), used only from the event loop, so it needs no
lock; it reads time from an injected clock, so its tests need no timing.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

__all__ = ["Admission", "FixedLimit", "GradientLimit", "Limit", "Ticket"]


class Limit:
    """How many requests may be at work at once; told of every request that finished."""

    def value(self) -> int:
        raise NotImplementedError

    def update(self, rtt: float, started: float) -> None:
        """A request that started at `started` spent `rtt` seconds at work."""


class FixedLimit(Limit):
    """A limit set by the operator (KB_MAX_INFLIGHT): what admission control was before it adapted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def value(self) -> int:
        return self.limit


class GradientLimit(Limit):
    """Envoy's adaptive-concurrency gradient controller (see the module's docstring). Envoy's default
    maximum is 1000; a worker here has a 40-thread pool that the cheap routes share, so 32."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        min_concurrency: int = 3,
        max_limit: int = 32,
        update_interval: float = 0.1,
        min_rtt_interval: float = 30.0,
        min_rtt_requests: int = 50,
        buffer: float = 0.25,
        jitter_share: float = 0.15,
    ) -> None:
        self.clock = clock
        self.jitter = jitter
        self.min_concurrency = min_concurrency
        self.max_limit = max_limit
        self.update_interval = update_interval
        self.min_rtt_interval = min_rtt_interval
        self.min_rtt_requests = min_rtt_requests
        self.buffer = buffer
        self.jitter_share = jitter_share
        self.limit = min_concurrency
        self.min_rtt = 0.0
        self.sample_rtt = 0.0
        self._samples: list[float] = []
        self._window_ends = 0.0  # when the current sampleRTT window closes
        self._deferred = 0  # the limit to return to after a minRTT window; 0: not in one
        self._epoch = 0.0  # start of the latest minRTT window: older requests are not sampled
        self._next_min_rtt = 0.0  # when the next minRTT window opens
        self._at_minimum = 0  # consecutive windows that set the limit to its minimum
        self._enter_min_rtt_window(min_concurrency)

    @property
    def measuring(self) -> bool:
        """In a minRTT window: the limit is pinned at its minimum."""
        return self._deferred > 0

    def value(self) -> int:
        if not self.measuring and self.clock() >= self._next_min_rtt:
            self._enter_min_rtt_window(self.limit)
        return self.limit

    def update(self, rtt: float, started: float) -> None:
        now = self.clock()
        if started < self._epoch:  # began before the minRTT window: not a sample of it
            return
        self._samples.append(rtt)
        if self.measuring:
            if len(self._samples) >= self.min_rtt_requests:
                self.min_rtt = self._median_and_clear()
                restore, self._deferred = self._deferred, 0
                self._set(restore)
                self._next_min_rtt = now + self.min_rtt_interval * (1 + self.jitter_share * self.jitter())
                self._window_ends = now + self.update_interval
            return
        if now >= self._window_ends:
            self._window_ends = now + self.update_interval
            self.sample_rtt = self._median_and_clear()
            self._set(self._new_limit())

    def _new_limit(self) -> int:
        gradient = max(0.5, min(2.0, self.min_rtt * (1 + self.buffer) / max(self.sample_rtt, 1e-9)))
        limit = self.limit * gradient
        return max(self.min_concurrency, min(self.max_limit, int(limit + math.sqrt(limit))))

    def _set(self, limit: int) -> None:
        at_minimum = not self.measuring and self.limit == limit == self.min_concurrency
        self._at_minimum = self._at_minimum + 1 if at_minimum else 0
        self.limit = limit
        if self._at_minimum >= 5:  # stuck at the minimum: the minRTT is likely wrong, measure it again
            self._next_min_rtt = self.clock()

    def _enter_min_rtt_window(self, restore: int) -> None:
        self._deferred = restore
        self._set(self.min_concurrency)
        self._samples.clear()
        self._epoch = self.clock()

    def _median_and_clear(self) -> float:
        median = statistics.median(self._samples)
        self._samples.clear()
        return median


@dataclass(eq=False)
class Ticket:
    """One admitted request: at work once `started` is set, else waiting for `on_grant`."""

    arrived: float
    started: float | None = None
    on_grant: Callable[[], None] | None = field(default=None, repr=False)


# the completions that waits are estimated from
_RECENT = 32


class Admission:
    def __init__(
        self,
        limit: Limit,
        deadline: float,
        max_queued: int = 1024,
        retry_after: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.deadline = deadline
        self.max_queued = max_queued
        self.retry_after = retry_after
        self.clock = clock
        self.running = 0
        self.refused = 0
        self._waiting: deque[Ticket] = deque()
        # seconds between completions, as seen by the latest requests: time at work / number at work
        self._intervals: deque[float] = deque(maxlen=_RECENT)

    @property
    def admitted(self) -> int:
        """At work or waiting."""
        return self.running + len(self._waiting)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def expected_wait(self) -> float:
        """Seconds a request arriving now would wait for a slot: one completion per request waiting
        before it, and one for itself, at the recent rate of completions."""
        if self.running < self.limit.value() and not self._waiting:
            return 0.0
        return (len(self._waiting) + 1) * self.interval()

    def interval(self) -> float:
        """Seconds between completions: the median of the latest requests' own view of it, so that one
        stall (this process descheduled on a shared machine for 100 ms, five requests at work each
        taking 100 ms longer) does not turn into refusals of clients the machine keeps up with."""
        return statistics.median(self._intervals) if self._intervals else 0.0

    def enter(self) -> Ticket | None:
        """Admit a request (at work at once, or waiting) or refuse it (None); never blocks."""
        now = self.clock()
        ticket = Ticket(arrived=now)
        if self.running < self.limit.value() and not self._waiting:
            ticket.started = now
            self.running += 1
            return ticket
        if len(self._waiting) >= self.max_queued or self.expected_wait() > self.deadline:
            self.refused += 1
            return None
        self._waiting.append(ticket)
        return ticket

    def leave(self, ticket: Ticket) -> None:
        """The request is done (answered, failed or gone): learn from it and let the next ones start."""
        if ticket.started is None:  # gave up while waiting
            self._waiting.remove(ticket)
            return
        rtt = self.clock() - ticket.started
        self.limit.update(rtt, ticket.started)
        # a request shared the machine with the others at work: its time at work over their number is
        # the time between completions, whatever the limit was (it moves every 100 ms; this must not)
        self._intervals.append(rtt / self.running)
        self.running -= 1
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self.running < self.limit.value():
            ticket = self._waiting.popleft()
            ticket.started = self.clock()
            self.running += 1
            if ticket.on_grant is not None:
                ticket.on_grant()

    @asynccontextmanager
    async def hold(self, ticket: Ticket) -> AsyncIterator[None]:
        """Wait until the admitted request may start, then hold its slot until it is done."""
        try:
            if ticket.started is None:
                granted = asyncio.get_running_loop().create_future()
                ticket.on_grant = lambda: None if granted.done() else granted.set_result(None)
                await granted
            yield
        finally:
            self.leave(ticket)

    def message(self) -> str:
        return (
            f"the server is at capacity ({self.admitted} requests at work or waiting): "
            f"retry after {self.retry_after} s"
        )
