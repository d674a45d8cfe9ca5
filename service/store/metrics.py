"""kb_events_dropped_total on /metrics: events the writer could not write (a full queue, a database
error), read from the query log when the metrics are scraped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from service.store.querylog import QueryLog

__all__ = ["DroppedEvents"]


class DroppedEvents(Collector):
    def __init__(self, query_log: Callable[[], QueryLog | None]) -> None:
        self._query_log = query_log

    def collect(self) -> Iterator[Metric]:
        log = self._query_log()
        family = CounterMetricFamily(
            "kb_events_dropped", "query-log events dropped (queue full or database error)"
        )
        family.add_metric([], log.dropped if log is not None else 0)
        yield family
