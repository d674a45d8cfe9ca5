"""Route metadata decides who may call a route and what body it takes; a new route is guarded by default."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from service.api import create_app
from service.api.access import Access, router
from service.kb import KnowledgeBase
from service.settings import Settings


class Echo(BaseModel):
    text: str


@pytest.fixture(scope="module")
def extended(settings: Settings, kb: KnowledgeBase):  # type: ignore[no-untyped-def]
    """The app with routes added the way the next features will: on a new router, and on the app."""
    app = create_app(settings.model_copy(update={"api_keys": ["k"]}), kb)
    documents = router(tags=["documents"])

    @documents.post("/documents/echo")
    def echo(body: Echo) -> Echo:
        return body

    pages = router(Access.OPEN)

    @pages.get("/page")
    def page() -> dict[str, str]:
        return {"page": "ok"}

    @app.get("/straight")
    def straight() -> dict[str, str]:
        return {"straight": "ok"}

    app.include_router(documents)
    app.include_router(pages)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", "/documents/echo", {"json": {"text": "x"}}, 401, "unauthorized"),
        (
            "post",
            "/documents/echo",
            {"json": {"text": "x"}, "headers": {"Authorization": "Bearer k"}},
            200,
            None,
        ),
        (
            "post",
            "/documents/echo",
            {
                "content": b'{"text": "x"}',
                "headers": {"Authorization": "Bearer k", "content-type": "text/plain"},
            },
            415,
            "unsupported_media_type",
        ),
        ("get", "/straight", {}, 401, "unauthorized"),
        ("get", "/straight", {"headers": {"Authorization": "Bearer k"}}, 200, None),
        ("get", "/page", {}, 200, None),
        ("get", "/openapi.json", {}, 401, "unauthorized"),
        ("get", "/docs", {}, 401, "unauthorized"),
        ("post", "/mcp", {"json": {}}, 401, "unauthorized"),
    ],
)
def test_new_routes_are_guarded_by_default(
    extended: TestClient,
    method: str,
    path: str,
    kwargs: dict,
    status: int,
    code: str | None,  # type: ignore[type-arg]
) -> None:
    r = extended.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    if code:
        assert r.json() == {"error": {"code": code, "message": r.json()["error"]["message"]}}
        assert r.json()["error"]["message"]


def test_docs_are_served_with_a_key(extended: TestClient) -> None:
    auth = {"Authorization": "Bearer k"}
    assert "/search" in extended.get("/openapi.json", headers=auth).json()["paths"]
    assert "swagger" in extended.get("/docs", headers=auth).text.lower()


def test_filter_enums_come_from_the_served_index(client: TestClient, kb: KnowledgeBase) -> None:
    params = client.get("/openapi.json").json()["paths"]["/principles"]["get"]["parameters"]
    enums = {p["name"]: p["schema"]["anyOf"][0]["enum"] for p in params if p["name"] in ("type", "doc")}
    docs = kb.index.catalog.doc_ids  # short ids, then file names
    assert enums == {"type": sorted(kb.index.catalog.type_names), "doc": [*docs, *docs.values()]}
