"""Prometheus metrics, one registry per app so several apps (tests, workers) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

from service.index import Manifest

__all__ = ["Metrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kb_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "kb_request_seconds", "HTTP request latency", ["route"], buckets=_BUCKETS, registry=self.registry
        )
        self.principles = Gauge(
            "kb_index_principles", "principles in the loaded index", registry=self.registry
        )
        self.vectors = Gauge("kb_index_vectors", "vectors in the loaded index", registry=self.registry)
        self.model = Info("kb_model", "embedding model and index build", registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def set_index(self, m: Manifest) -> None:
        self.principles.set(m.principles)
        self.vectors.set(m.vectors)
        self.model.info({"model": m.model, "dimension": str(m.dimension), "built_at": m.built_at})

    def render(self) -> bytes:
        return generate_latest(self.registry)
