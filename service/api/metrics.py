"""Prometheus metrics, one registry per app so several apps (tests) never collide; summed over every
worker when `kb serve --workers` runs several (prometheus-client's multiprocess mode, switched on by
PROMETHEUS_MULTIPROC_DIR: service/api/workers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import InfoMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.index import Manifest

__all__ = ["Metrics", "multiprocess"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


def multiprocess() -> bool:
    """Whether metrics are kept in files shared by the workers (read once: prometheus-client decides
    how it stores values when it is imported)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ModelInfo(Collector):
    """kb_model_info from the index this worker serves. An Info metric cannot be kept in multiprocess
    files, and every worker serves the same index (a reload reaches them all), so the answering
    worker's own is reported."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    def collect(self) -> Iterator[Metric]:
        family = InfoMetricFamily("kb_model", "embedding model and index build")
        if self.labels:
            family.add_metric([], self.labels)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kb_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "kb_request_seconds", "HTTP request latency", ["route"], buckets=_BUCKETS, registry=self.registry
        )
        # the same in every worker once a reload has reached them all: the latest value set by a live one
        self.principles = Gauge(
            "kb_index_principles",
            "principles in the loaded index",
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )
        self.vectors = Gauge(
            "kb_index_vectors",
            "vectors in the loaded index",
            registry=self.registry,
            multiprocess_mode="livemostrecent",
        )
        # per worker, so summed over the live ones: the machine's concurrency limit and queue
        self.admission_limit = Gauge(
            "kb_admission_limit",
            "expensive requests allowed at work at once (summed over workers)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.admission_waiting = Gauge(
            "kb_admission_waiting",
            "expensive requests waiting for a slot (summed over workers)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.model = _ModelInfo()
        self.registry.register(self.model)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def set_index(self, m: Manifest) -> None:
        self.principles.set(m.principles)
        self.vectors.set(m.vectors)
        self.model.labels = {"model": m.model, "dimension": str(m.dimension), "built_at": m.built_at}

    def set_admission(self, limit: int, waiting: int) -> None:
        self.admission_limit.set(limit)
        self.admission_waiting.set(waiting)

    def render(self) -> bytes:
        if not multiprocess():
            return generate_latest(self.registry)
        # every worker's files, summed; the metrics objects above only write them
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self.model)
        return generate_latest(registry)
