"""ASGI middleware: request ids and access logs, metrics, body limits on every route."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    assert client.get("/health").headers["x-request-id"]
    assert client.get("/health", headers={"x-request-id": "abc"}).headers["x-request-id"] == "abc"


def test_metrics(client: TestClient) -> None:
    client.post("/search", json={"query": "门槛"})
    text = client.get("/metrics").text
    assert 'kb_requests_total{method="POST",route="/search",status="200"}' in text
    assert "kb_request_seconds_bucket" in text and "kb_index_principles" in text
    assert 'model="m3e-small"' in text


def test_the_body_limit_covers_every_route(client: TestClient) -> None:
    big = b"{" + b" " * 70_000 + b"}"
    for path in ("/search", "/tools/call", "/mcp"):
        r = client.post(path, content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", path
