"""What recording costs a query: p50 latency of in-process search and ask with the query log off and on
(`python scripts/bench_events.py [--rounds N] [--database-url URL]`).

The same KnowledgeBase serves both; calls alternate off/on so that drift (other processes on the machine,
CPU frequency) falls on both alike. Queries repeat from a small set, so the embedding cache answers and
what is left is ranking plus, when on, building the event and queueing it (the write itself happens on
the writer thread). Then the recording step alone, timed over thousands of calls. Also reports the
events written and dropped, and the writer's lag at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from service.kb import KnowledgeBase
from service.models import AskRequest, SearchRequest
from service.settings import get_settings
from service.store.db import make_engine, upgrade
from service.store.querylog import QueryLog

TEXTS = ["社群定位分哪几步?", "群里全是广告怎么办", "入群门槛", "怎么提高社群活跃度", "群公告怎么写?",
         "付费社群怎么续费", "直播带货的坑位费一般多少?", "社群运营工资一般多少"]  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=300, help="calls per operation and setting")
    ap.add_argument("--database-url", help="record into this database (default: a fresh SQLite file)")
    args = ap.parse_args()
    settings = get_settings()
    kb = KnowledgeBase.load(settings)
    kb.warm_up()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='kb-bench-')) / 'kb.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    log = QueryLog(engine, settings.query_log_queue)
    print(f"database: {engine.url.render_as_string(hide_password=True)}; {args.rounds} calls each")
    print(f"{'operation':10s} {'p50 off ms':>11s} {'p50 on ms':>10s} {'overhead ms':>12s}")
    for name, call in (
        ("search", lambda i: kb.search(SearchRequest(query=TEXTS[i % len(TEXTS)]))),
        ("ask", lambda i: kb.ask(AskRequest(question=TEXTS[i % len(TEXTS)]))),
    ):
        timings: dict[bool, list[float]] = {False: [], True: []}
        for i in range(2 * args.rounds):
            on = i % 2 == 1
            kb.query_log = log if on else None
            started = time.perf_counter()
            call(i // 2)
            timings[on].append((time.perf_counter() - started) * 1000)
        off, on_ = statistics.median(timings[False]), statistics.median(timings[True])
        print(f"{name:10s} {off:11.3f} {on_:10.3f} {on_ - off:12.3f}")
    # the recording step alone, which the end-to-end medians above cannot resolve on a busy machine:
    # the same response recorded again and again (building the event and queueing it)
    served = kb._served
    query = kb.encoder.query(TEXTS[0])
    resp = kb.search(SearchRequest(query=TEXTS[0]))
    step: dict[bool, float] = {}
    for on in (False, True):
        kb.query_log = log if on else None
        n = 5000
        started = time.perf_counter()
        for _ in range(n):
            kb._record("search", None, served, query, resp, started)
        step[on] = (time.perf_counter() - started) / n * 1e6
        log.writer.flush(30)
    print(f"recording step alone: {step[False]:.1f} µs off, {step[True]:.1f} µs on (10 hits per event)")
    kb.query_log = None
    started = time.perf_counter()
    log.writer.flush(30)
    lag = time.perf_counter() - started
    written, dropped = log.writer.written, log.dropped
    print(f"events written {written}, dropped {dropped}; writer caught up {lag * 1000:.0f} ms after")
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
