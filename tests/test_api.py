"""Every endpoint's happy path and the one error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.models import MAX_QUERY_CHARS, AskResponse, DiagnoseResponse, SearchResponse


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "m3e-small"
    assert body["principles"] == body["index"]["principles"] > 100
    assert body["index"]["dimension"] == 512


def test_search(client: TestClient) -> None:
    r = client.post("/search", json={"query": "社群定位分哪几步", "k": 3})
    assert r.status_code == 200
    body = SearchResponse.model_validate(r.json())
    assert len(body.hits) == 3
    hit = r.json()["hits"][0]
    assert set(hit) >= {"id", "type", "title", "summary", "score", "scores", "source"}
    assert set(hit["source"]) == {"doc", "title", "start", "end", "quote", "text"}
    assert (hit["rank"], hit["role"], hit["linked_from"]) == (1, "lead", None)
    assert 0 <= hit["relevance"] <= 1
    assert set(hit["scores"]) == {"dense", "bm25"}


def test_ask_and_diagnose(client: TestClient) -> None:
    a = AskResponse.model_validate(client.post("/ask", json={"question": "社群定位分哪几步?"}).json())
    assert a.answered and a.hits
    d = client.post("/diagnose", json={"situation": "群里全是广告,没人说话"})
    assert d.status_code == 200
    body = DiagnoseResponse.model_validate(d.json())
    assert body.hits and body.hits[0].type == "pitfall" and body.reading
    # advice only where there is advice: a pitfall always, a context passage only if it gives some
    assert all(h.advice for h in body.hits if h.type == "pitfall")
    strict = client.post("/diagnose", json={"situation": "群里全是广告,没人说话", "pitfalls_only": True})
    assert {h["type"] for h in strict.json()["hits"]} == {"pitfall"}


def test_principles_and_types(client: TestClient) -> None:
    listing = client.get("/principles", params={"type": "pitfall", "limit": 500}).json()
    assert listing["total"] == len(listing["principles"]) > 20
    assert {p["type"] for p in listing["principles"]} == {"pitfall"}
    pid = listing["principles"][0]["id"]
    assert client.get(f"/principles/{pid}").json()["id"] == pid
    names = {t["name"] for t in client.get("/types").json()["types"]}
    assert {"pitfall", "positioning_step", "role_type", "content_category"} <= names


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "field"),
    [
        ("post", "/search", {"query": ""}, 422, "invalid_input", "query"),
        ("post", "/search", {"query": "   "}, 422, "invalid_input", "query"),
        ("post", "/search", {"query": "社" * (MAX_QUERY_CHARS + 1)}, 422, "invalid_input", "query"),
        ("post", "/search", {"query": "社群", "k": 0}, 422, "invalid_input", "k"),
        ("post", "/search", {"query": "社群", "k": 51}, 422, "invalid_input", "k"),
        ("post", "/search", {"query": "社群", "types": ["nope"]}, 422, "unknown_type", "types"),
        ("post", "/search", {"query": "社群", "docs": ["nope.txt"]}, 422, "unknown_document", "docs"),
        ("post", "/search", {"query": "社群", "docs": ["009"]}, 422, "unknown_document", "docs"),
        ("get", "/principles?doc=009", None, 422, "unknown_document", "doc"),
        ("get", "/principles?limit=2&lmit=3", None, 422, "invalid_input", "lmit"),
        ("get", "/principles?limit=0", None, 422, "invalid_input", "limit"),
        ("get", "/principles?group=nope", None, 422, "invalid_input", "group"),
        ("get", "/documents/009", None, 404, "not_found", "009"),
        ("post", "/search", {"query": "社群\x00"}, 422, "invalid_input", "query"),
        ("post", "/search", {"q": "社群"}, 422, "invalid_input", "query"),
        ("post", "/ask", {"question": "社群", "k": 21}, 422, "invalid_input", "k"),
        ("post", "/diagnose", {"situation": ""}, 422, "invalid_input", "situation"),
        ("get", "/principles/no-such-id", None, 404, "not_found", "no-such-id"),
        ("get", "/principles?type=nope", None, 422, "unknown_type", "type"),
        ("get", "/nowhere", None, 404, "not_found", "Not Found"),
    ],
)
def test_error_shape(
    client: TestClient, method: str, path: str, body: object, status: int, code: str, field: str
) -> None:
    r = client.post(path, json=body) if method == "post" else client.get(path)
    assert r.status_code == status
    err = r.json()
    assert set(err) == {"error"} and set(err["error"]) == {"code", "message"}
    assert err["error"]["code"] == code
    assert field in err["error"]["message"]


@pytest.mark.parametrize("route", ["/search", "/ask", "/diagnose", "/search/batch"])
def test_invalid_json_is_a_400_a_person_understands(client: TestClient, route: str) -> None:
    r = client.post(route, content=b'{"query": "x",}', headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": {
            "code": "bad_request",
            "message": "the body is not valid JSON (Expecting property name enclosed in double quotes at "
            'character 14); send one JSON object, e.g. {"query": "社群定位"}',
        }
    }


def test_invalid_utf8_is_a_400_naming_the_byte(client: TestClient) -> None:
    r = client.post("/search", content=b'{"query": "\xff\xfe"}', headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {
        "code": "bad_request",
        "message": "the body is not valid UTF-8 (byte 0xff at byte 11); send the JSON text encoded as UTF-8",
    }


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/search",
        "/ask",
        "/diagnose",
        "/principles",
        "/principles/{principle_id}",
        "/types",
        "/health",
    } <= set(paths)


def test_search_batch_gives_what_search_gives(client: TestClient) -> None:
    queries = ["怎样设置入群门槛", "群主不活跃怎么办", "社群的生命周期"]
    batch = client.post("/search/batch", json={"queries": queries, "k": 5, "types": ["pitfall", "practice"]})
    assert batch.status_code == 200
    results = batch.json()["results"]
    assert [r["query"] for r in results] == queries
    for q, r in zip(queries, results, strict=True):
        one = client.post("/search", json={"query": q, "k": 5, "types": ["pitfall", "practice"]}).json()
        assert [h["id"] for h in r["hits"]] == [h["id"] for h in one["hits"]]
        assert [h["score"] for h in r["hits"]] == pytest.approx([h["score"] for h in one["hits"]], abs=1e-3)
        assert set(r["hits"][0]) == set(one["hits"][0])  # the same hit shape


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"queries": ["群"] * 33}, "queries"),
        ({"queries": []}, "queries"),
        ({"queries": ["群", " "]}, "queries.1"),
        ({"queries": ["群"], "docs": ["009"]}, "docs"),
    ],
)
def test_search_batch_limits(client: TestClient, body: dict, field: str) -> None:  # type: ignore[type-arg]
    r = client.post("/search/batch", json=body)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith(field)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/health", "get", {"200", "413", "500"}),
        ("/types", "get", {"200", "401", "413", "422", "500"}),
        ("/principles/{principle_id}", "get", {"200", "401", "404", "413", "422", "500"}),
        ("/search", "post", {"200", "400", "401", "413", "415", "422", "500", "503"}),
        ("/admin/reload", "post", {"200", "401", "403", "409", "413", "500", "503"}),
    ],
)
def test_openapi_lists_only_the_statuses_a_route_can_return(
    client: TestClient, path: str, method: str, statuses: set[str]
) -> None:
    responses = client.get("/openapi.json").json()["paths"][path][method]["responses"]
    assert set(responses) == statuses
