"""`kb serve --workers N`: N processes answering on one port, each with its own copy of the index.

One process answers Python work on one core at a time (the GIL); the machine has more. uvicorn's own
supervisor (`uvicorn.supervisors.Multiprocess`: spawns the workers, pings them, replaces one that
dies) runs them, each on its own SO_REUSEPORT socket (`_listen`); what is per process today is made to
hold across them here:

- metrics: prometheus-client's multiprocess mode. The supervisor points PROMETHEUS_MULTIPROC_DIR at an
  empty folder before any worker starts, each worker's counters live in files there, `/metrics` (in
  whichever worker answers) sums them, and a worker that ends is marked dead so its gauges drop out.
- reload: `POST /admin/reload` reloads the worker that got it, then appends one byte to a shared
  `reload` file; SIGHUP to the supervisor (or to any worker) appends one too. Every worker watches the
  file's length and reloads when it grows, so every worker swaps within `WATCH_SECONDS`.
- admission is per worker (service/api/admission.py); MCP over HTTP is stateless, so any worker can
  answer any call. Draft-accept jobs (service/publish.py) live in the memory of the worker that
  started them until they move to files under the data folder, which nothing here stands in the way
  of; a job's own index swap should then ask the others to reload (`ReloadFile.announce`).

The folder they share is KB_RUNTIME_DIR, or a temporary one removed on exit.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from service.errors import KBError
from service.index import Manifest
from service.settings import Settings

__all__ = ["METRICS_DIR", "WATCH_SECONDS", "ReloadFile", "run_workers", "watch_reloads", "worker_app"]

log = logging.getLogger("kb")

METRICS_DIR = "metrics"
WATCH_SECONDS = 0.5  # how often a worker looks for a reload asked of another worker: one stat() each


class ReloadFile:
    """The reload requests of every worker: a file that grows by one byte per request (O_APPEND, so
    concurrent appends never overwrite each other); a worker reloads when it is longer than it was."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen = self.length()  # the requests this worker has acted on

    def changed(self) -> bool:
        """True once for every growth of the file since this worker last acted on it."""
        now = self.length()
        if now == self.seen:
            return False
        self.seen = now
        return True

    def length(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def announce(self) -> int:
        """Ask every worker to reload; returns the file's length including this request."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, b".")
            return os.lseek(fd, 0, os.SEEK_CUR)
        finally:
            os.close(fd)

    def announce_after(self, before: int) -> None:
        """Ask the others to reload after this worker has (the file was `before` long when it began):
        if nobody else asked meanwhile, this worker need not follow its own request."""
        if self.announce() == before + 1:
            self.seen = before + 1


@asynccontextmanager
async def watch_reloads(reloads: ReloadFile, reload: Callable[[], Manifest]) -> AsyncIterator[None]:
    """While the app serves: run `reload` (in a thread: it reads the index from disk) whenever another
    worker or a SIGHUP asked for one."""
    import anyio

    async def watch() -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if reloads.changed():
                try:
                    m = await anyio.to_thread.run_sync(reload)
                except KBError as exc:
                    log.error("reload failed, still serving the previous index: %s", exc.message)
                else:
                    log.warning(
                        "worker %d reloaded index built at %s (%d principles)",
                        os.getpid(),
                        m.built_at,
                        m.principles,
                    )

    task = asyncio.create_task(watch())
    loop = asyncio.get_running_loop()
    # SIGHUP to one worker is a reload of all of them (and a terminal hanging up must not end a worker)
    loop.add_signal_handler(signal.SIGHUP, reloads.announce)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        task.cancel()


def worker_app() -> Any:
    """The app of one worker (uvicorn's factory, imported in each spawned process): loads and warms its
    own KnowledgeBase before the worker reports ready."""
    from service.api import create_app
    from service.api.server import short_gil_turns, single_threaded_blas
    from service.cli import plain_logging
    from service.kb import KnowledgeBase
    from service.settings import get_settings
    from service.store.querylog import open_query_log

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the app watches for reloads: not the end
    plain_logging()
    settings = get_settings()
    assert settings.runtime_dir is not None  # set by run_workers for every worker
    try:
        # the supervisor migrated the query log before starting the workers; each writes its own events
        query_log = open_query_log(settings)
        if query_log is not None:
            atexit.register(query_log.close)  # the events still queued are written before the worker ends
        kb = KnowledgeBase.load(settings, query_log=query_log)
    except KBError as exc:  # the supervisor checked the index, but it can change after that
        log.error("worker %d cannot load the index: %s", os.getpid(), exc.message)
        # the exit status uvicorn's supervisor reads as "will fail the same way again": it stops
        raise SystemExit(STARTUP_FAILURE) from exc
    kb.warm_up()
    single_threaded_blas()
    short_gil_turns()
    return create_app(settings, kb, reloads=ReloadFile(settings.runtime_dir / "reload"))


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, with three changes: each worker gets its own listening socket (see
    `_listen`), SIGHUP asks the workers to reload in place (uvicorn's own answer is to replace every
    worker, a cold start each), and a dead worker's metrics are marked dead."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], reloads: ReloadFile) -> None:
        super().__init__(config, sockets)
        self.reloads = reloads

    def _spawn(self, idx: int) -> Process:
        process = Process(self.config, [self.sockets[idx]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._spawn(i) for i in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        # uvicorn's, but a replacement takes over the socket of the worker it replaces
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung or dead
            process.join()
            if process.pid is not None:
                self._mark_dead({process.pid})
            if process.exitcode == STARTUP_FAILURE:  # it would fail the same way again: stop
                log.error("worker %s failed to start: stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.warning("worker %s died: starting another", process.pid)
            self.processes[idx] = self._spawn(idx)

    def handle_hup(self) -> None:
        log.warning("SIGHUP: every worker reloads the index")
        self.reloads.announce()

    def handle_ttin(self) -> None:  # one socket per worker: their number is fixed at start
        log.warning("SIGTTIN ignored: restart `kb serve` with another --workers")

    def handle_ttou(self) -> None:
        log.warning("SIGTTOU ignored: restart `kb serve` with another --workers")

    def join_all(self) -> None:
        super().join_all()
        self._mark_dead({p.pid for p in self.processes if p.pid is not None})

    def _mark_dead(self, pids: set[int]) -> None:
        from prometheus_client import multiprocess

        for pid in pids:
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _listen(host: str, port: int, workers: int) -> list[socket.socket]:
    """One socket per worker on the same port (SO_REUSEPORT): the kernel spreads new connections over
    them evenly. With one shared socket, whichever worker wakes first accepts every pending connection
    in one go (asyncio accepts up to the backlog per wake-up), so a burst of clients, or a load
    balancer's pool of keep-alive connections, could all land on one worker. A worker still loading
    does not listen yet, so it gets none. Raises OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # first alone, without SO_REUSEPORT: binding beside another server's SO_REUSEPORT sockets (a second
    # `kb serve` on the same port) must fail, not silently share its traffic
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    sockets = []
    for _ in range(workers):
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without
        # it a response written in two parts waits for the client's delayed ACK (40 ms a request)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def run_workers(settings: Settings, host: str, port: int, workers: int, config: dict[str, Any]) -> bool:
    """Serve with `workers` processes until SIGINT/SIGTERM; False when the port could not be bound or
    a worker could not start (uvicorn logged why)."""
    owned = settings.runtime_dir is None
    runtime = Path(tempfile.mkdtemp(prefix="kb-serve-")) if owned else Path(str(settings.runtime_dir))
    metrics = runtime / METRICS_DIR
    shutil.rmtree(metrics, ignore_errors=True)  # counters of an earlier run must not be summed in
    metrics.mkdir(parents=True)
    reloads = ReloadFile(runtime / "reload")
    reloads.path.unlink(missing_ok=True)
    # before any worker starts: prometheus-client picks its multiprocess values at import time
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    os.environ["KB_RUNTIME_DIR"] = str(runtime)
    try:
        uv = uvicorn.Config(
            "service.api.workers:worker_app", factory=True, host=host, port=port, workers=workers, **config
        )
        try:
            sockets = _listen(host, port, workers)
        except OSError as exc:
            log.error("cannot listen on %s:%d: %s", host, port, exc)
            return False
        log.warning("%d workers on http://%s:%d (supervisor %d)", workers, host, port, os.getpid())
        supervisor = _Supervisor(uv, sockets, reloads)
        supervisor.run()
        return not any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    finally:
        if owned:
            shutil.rmtree(runtime, ignore_errors=True)
