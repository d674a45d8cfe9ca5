"""`kb serve` on a free port, waited for until /health answers: for the bench, the fuzz run and the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

__all__ = ["free_port", "start_kb_serve", "wait_healthy"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    url: str, alive: Callable[[], bool], timeout: float = 60.0, why: Callable[[], str] = str
) -> None:
    """Poll `url`/health until it answers 200; fail when `alive()` turns false or after `timeout` s."""
    deadline = time.time() + timeout
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not alive() or time.time() > deadline:
            raise RuntimeError(f"kb serve at {url} did not become healthy. {why()}")
        time.sleep(0.05)


def start_kb_serve(
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    output: IO[str] | int = subprocess.DEVNULL,
    timeout: float = 60.0,
    args: Sequence[str] = (),
) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start `kb serve [args]` in a subprocess; returns it, its URL and the seconds it took to be
    healthy (the first /health 200: with several workers, the first worker ready)."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from service.cli import main; main()", "serve", "--port", str(port), *args],
        stdout=output, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ, **(env or {})},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, lambda: proc.poll() is None, timeout)
    except RuntimeError:
        proc.terminate()
        proc.wait(timeout=20)
        raise
    return proc, url, time.perf_counter() - started
