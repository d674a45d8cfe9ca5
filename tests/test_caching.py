"""Browsing routes: ETag from the served index, 304 on If-None-Match, Cache-Control, unknown query
parameters refused; paging of GET /principles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.api.caching import etag_of
from service.kb import KnowledgeBase
from service.models import DEFAULT_PAGE
from service.settings import Settings

CACHED = ["/principles", "/principles/p002-ad-only-groups", "/types", "/documents", "/documents/002"]


@pytest.mark.parametrize("path", CACHED)
def test_etag_and_not_modified(client: TestClient, kb: KnowledgeBase, path: str) -> None:
    first = client.get(path)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag == etag_of(kb.index.manifest)
    assert first.headers["cache-control"] == "public, max-age=60"
    for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get(path, headers={"If-None-Match": given})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and again.headers["cache-control"] == "public, max-age=60"
    stale = client.get(path, headers={"If-None-Match": '"an-older-build"'})
    assert stale.status_code == 200 and stale.content == first.content


def test_etag_follows_the_corpus_and_the_build(kb: KnowledgeBase) -> None:
    m = kb.index.manifest
    assert m.corpus_sha256[:16] in etag_of(m)
    assert etag_of(m.model_copy(update={"built_at": "2030-01-01T00:00:00Z"})) != etag_of(m)
    assert etag_of(m.model_copy(update={"corpus_sha256": "0" * 64})) != etag_of(m)


def test_errors_are_not_cached(client: TestClient) -> None:
    r = client.get("/principles/nope")
    assert r.status_code == 404 and "etag" not in r.headers


@pytest.mark.parametrize("path", CACHED)
def test_unknown_query_parameters_are_422(client: TestClient, path: str) -> None:
    r = client.get(path, params={"limt": "2"})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("limt: unknown query parameter")


def test_with_keys_the_cache_is_private(settings: Settings, kb: KnowledgeBase) -> None:
    with TestClient(create_app(settings.model_copy(update={"api_keys": ["k"]}), kb)) as c:
        assert c.get("/types").status_code == 401  # the key first, then the cache
        r = c.get("/types", headers={"Authorization": "Bearer k"})
        assert r.headers["cache-control"] == "private, max-age=60"
        etag = {"If-None-Match": r.headers["etag"]}
        assert c.get("/types", headers=etag).status_code == 401  # no answer, not even 304, without it


def test_pages_cover_the_list_once(client: TestClient, kb: KnowledgeBase) -> None:
    first = client.get("/principles").json()
    assert (first["total"], first["limit"], first["offset"]) == (len(kb.index.catalog), DEFAULT_PAGE, 0)
    assert len(first["principles"]) == DEFAULT_PAGE and first["next_offset"] == DEFAULT_PAGE
    seen, offset = [], 0
    while offset is not None:
        page = client.get("/principles", params={"limit": 40, "offset": offset}).json()
        seen += [p["id"] for p in page["principles"]]
        offset = page["next_offset"]
    assert seen == [p.id for p in kb.index.catalog.principles]
    past = client.get("/principles", params={"offset": 10_000}).json()
    assert past["principles"] == [] and past["next_offset"] is None and past["total"] == len(seen)


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"type": "pitfall"}, lambda p: p["type"] == "pitfall"),
        ({"doc": "002"}, lambda p: p["source"]["doc"].startswith("002_")),
        ({"doc": "002_d226979a116dad90.txt"}, lambda p: p["source"]["doc"].startswith("002_")),
        ({"group": "g001a-positioning-steps"}, lambda p: p["group"] == "g001a-positioning-steps"),
        ({"type": "pitfall", "doc": "000"}, lambda p: p["type"] == "pitfall" and p["id"].startswith("p000")),
    ],
)
def test_filters(client: TestClient, kb: KnowledgeBase, params: dict[str, str], check: object) -> None:
    body = client.get("/principles", params={**params, "limit": 500}).json()
    assert body["total"] == len(body["principles"]) > 0
    assert all(check(p) for p in body["principles"])  # type: ignore[operator]


def test_openapi_lists_the_filters_values(client: TestClient) -> None:
    params = client.get("/openapi.json").json()["paths"]["/principles"]["get"]["parameters"]
    doc = next(p for p in params if p["name"] == "doc")
    assert {"002", "002_d226979a116dad90.txt"} <= set(doc["schema"]["anyOf"][0]["enum"])
    assert {p["name"] for p in params} == {"type", "doc", "group", "limit", "offset"}
