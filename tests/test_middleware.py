"""ASGI middleware: request ids and access logs, bounded metrics, body limits on every route, HEAD."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.kb import KnowledgeBase
from service.settings import Settings

# the MCP transport refuses Host headers other than the server's own (DNS rebinding protection)
MCP_HOST = {"host": "127.0.0.1:8000"}


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


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts  # a generator body is sent chunked, with no Content-Length


@pytest.mark.parametrize("path", ["/search", "/tools/call", "/mcp"])
def test_a_chunked_body_over_the_limit_is_413(client: TestClient, path: str) -> None:
    # issue 15.3: the limit was enforced, but the route saw a cut body and answered 400 "not valid JSON";
    # /mcp answered with the SDK's own 4 MiB limit in mind
    body = _chunks(b'{"query": "', b"a" * 40_000, b"a" * 40_000, b'"}')
    r = client.post(path, content=body, headers={"content-type": "application/json", **MCP_HOST})
    assert r.status_code == 413, r.text
    assert r.json() == {"error": {"code": "too_large", "message": "request body over 65536 bytes"}}


def test_a_chunked_body_under_the_limit_is_read_whole(client: TestClient) -> None:
    body = _chunks(b'{"query": "', "入群门槛".encode(), b'", "k": 2}')
    r = client.post("/search", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and len(r.json()["hits"]) == 2


@pytest.fixture(scope="module")
def keyed(settings: Settings, kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"api_keys": ["k1"]}), kb)) as c:
        yield c


def test_metric_labels_come_only_from_the_route_table(keyed: TestClient) -> None:
    # issue 15.2: an unknown path with a non-404 status became a label of its own
    for i in range(30):
        keyed.get(f"/x{i}")
        keyed.post(f"/x{i}", headers={"content-length": "70000"}, content=b"")
        keyed.post(f"/admin/x{i}")
        keyed.request(f"M{i}", "/search")
    text = keyed.get("/metrics", headers={"Authorization": "Bearer k1"}).text
    routes = set(re.findall(r'kb_requests_total\{method="[^"]*",route="([^"]*)"', text))
    methods = set(re.findall(r'kb_requests_total\{method="([^"]*)"', text))
    assert routes <= {"unmatched", "/search", "/metrics"}, routes
    assert 'route="unmatched",status="413"' in text
    assert methods <= {"GET", "POST", "other"}, methods


@pytest.mark.parametrize(
    ("given", "echoed"),
    [(b"abc-123", True), ("请求".encode(), False), (b"a b", False), (b"x" * 65, False), (b"\xff", False)],
)
def test_a_request_id_is_echoed_only_when_printable_ascii(
    client: TestClient, given: bytes, echoed: bool
) -> None:
    # issue 15.7: a non-ASCII id came back garbled (bytes re-read as latin-1)
    rid = client.get("/health", headers={"x-request-id": given}).headers["x-request-id"]
    assert rid == given.decode() if echoed else re.fullmatch(r"[0-9a-f]{32}", rid)


@pytest.mark.parametrize("path", ["/health", "/types", "/principles/p001-aidass-model", "/openapi.json"])
def test_head_answers_wherever_get_does(client: TestClient, path: str) -> None:
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


def test_head_where_only_post_is_allowed_is_405(client: TestClient) -> None:
    assert client.head("/search").status_code == 405


def test_cors_is_closed_by_default(client: TestClient) -> None:
    r = client.options(
        "/search", headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in r.headers
