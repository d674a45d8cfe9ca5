"""How `kb serve` runs the app under uvicorn: its connection limits and its BLAS threads, in one place.

uvicorn closes an idle keep-alive connection only after a response: a client that connects and never
sends a request, or sends half a request head and stops, would hold its socket forever. Our protocol
gives every connection `keep_alive_seconds` to deliver a request head, whether it is new or has just
been answered; a request being answered is never cut. Both of uvicorn's HTTP protocols get the limit:
httptools (used when installed, as the [serve] extra does) and h11.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    _HAS_HTTPTOOLS = True
except ImportError:  # the [serve] extra installs it; uvicorn alone does not
    HttpToolsProtocol = H11Protocol  # type: ignore[misc, assignment]
    _HAS_HTTPTOOLS = False

from service.settings import Settings

__all__ = [
    "IdleLimitedH11",
    "IdleLimitedHttpTools",
    "http_protocol",
    "single_threaded_blas",
    "uvicorn_config",
    "uvicorn_options",
]


def single_threaded_blas() -> None:
    """One BLAS thread per call in the serving process: the parallelism is the requests'. A request's
    matrix products are small (a query against 3,703 vectors), and OpenBLAS spreading each over every
    core made sixteen concurrent requests spin against each other: `/ask` at concurrency 16 answered
    8.6 requests/s (p50 1.6 s) against 74.5 (p50 210 ms) with one thread, `/search` 70 against 119.
    Applies to the BLAS libraries loaded at the call (numpy's, faiss's), so call it once the index
    is loaded; the build's torch keeps its own threads."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def short_gil_turns() -> None:
    """A thread waiting for the GIL gets it after 1 ms instead of Python's 5 ms. The event loop (accepting
    connections, answering /health, refusing under overload) gives the GIL up at every system call and
    then waits a whole interval behind the request threads' CPU work to get it back, several times per
    request: the convoy effect. In an A/B on this (heavily shared) machine, `/search` c16 served
    124 requests/s against 54 and 133 against 102 in two runs; the cost is more switches between
    request threads, which are bounded by admission."""
    sys.setswitchinterval(0.001)


class _IdleLimit:
    """The idle limit, on either of uvicorn's HTTP protocols (both create `self.cycle` when a request
    head is complete and call `on_response_complete` after each answer)."""

    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    timeout_keep_alive: float
    _deadline: asyncio.TimerHandle | None = None
    _waiting_after: object = None  # the request cycle answered last: a new one means a new request head

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self.cycle is not self._waiting_after:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._deadline = self.loop.call_later(self.timeout_keep_alive, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        # a pipelined request may have been parsed without new data: only a connection still waiting closes
        if self.cycle is self._waiting_after and not self.transport.is_closing():
            self.transport.close()


class IdleLimitedH11(_IdleLimit, H11Protocol):  # type: ignore[misc]
    pass


class IdleLimitedHttpTools(_IdleLimit, HttpToolsProtocol):  # type: ignore[misc]
    pass


def http_protocol() -> type[asyncio.Protocol]:
    """httptools (C, llhttp) when installed, as uvicorn itself prefers: parsing a request head costs
    a fraction of h11's pure Python, which is most of what a refusal costs under overload."""
    if _HAS_HTTPTOOLS:
        return IdleLimitedHttpTools
    return IdleLimitedH11


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every `kb serve` process runs uvicorn with, whatever the number of workers."""
    return {
        "http": http_protocol(),
        "timeout_keep_alive": settings.keep_alive_seconds,
        "log_level": "info",
        "access_log": False,  # the app writes its own JSON access log
    }


def uvicorn_config(
    app: Any, settings: Settings, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host or settings.host, port=port or settings.port, **uvicorn_options(settings)
    )
