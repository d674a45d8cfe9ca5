"""Dify's External Knowledge API (POST /dify/retrieval) on a live server, called exactly as Dify calls it.

The requests copy langgenius/dify's own code:
- retrieval: api/services/external_knowledge_service.py, `fetch_external_knowledge_retrieval` builds the
  headers and the body (metadata_condition only when set, as `MetadataCondition.model_dump()` of
  api/core/rag/entities/metadata_entities.py) and `process_external_api` posts `data=json.dumps(params)`
  with `follow_redirects=True` through api/core/helper/ssrf_proxy.py, whose timeout is
  SSRF_DEFAULT_TIME_OUT / _CONNECT_ / _READ_ / _WRITE_TIME_OUT, 5 s each by default (api/configs/feature);
- registration: `check_endpoint_and_api_key` posts no body with only the Authorization header, and
  refuses the endpoint on 502, 404 and 403 ("Forbidden: Authorization failed with api_key").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.api import create_app
from service.kb import KnowledgeBase
from service.settings import Settings

KEY = "dify-key"
# api/core/helper/ssrf_proxy.py: make_request's default timeout
DIFY_TIMEOUT = httpx.Timeout(timeout=5, connect=5, read=5, write=5)


def dify_retrieval(
    endpoint: str,
    api_key: str | None,
    query: str,
    knowledge_id: str = "all",
    top_k: int | None = 3,
    score_threshold: float = 0.0,
    metadata_condition: dict[str, Any] | None = None,
) -> httpx.Response:
    """Dify's fetch_external_knowledge_retrieval, minus its database: the same headers, body and call."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    request_params: dict[str, Any] = {
        "retrieval_setting": {"top_k": top_k, "score_threshold": score_threshold},
        "query": query,
        "knowledge_id": knowledge_id,
    }
    if metadata_condition:
        request_params["metadata_condition"] = metadata_condition
    with httpx.Client() as client:
        # Dify passes data=json.dumps(...); httpx sends a str `data` as this same content (and warns)
        return client.request(
            "POST",
            f"{endpoint}/retrieval",
            content=json.dumps(request_params),
            headers=headers,
            follow_redirects=True,
            timeout=DIFY_TIMEOUT,
        )


def dify_registration_check(endpoint: str, api_key: str) -> httpx.Response:
    """check_endpoint_and_api_key: a POST with no body, only the key."""
    with httpx.Client() as client:
        return client.request(
            "POST",
            f"{endpoint}/retrieval",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=DIFY_TIMEOUT,
        )


@pytest.fixture(scope="module")
def keyed(
    settings: Settings, kb: KnowledgeBase, serve: Callable[[FastAPI, Settings], AbstractContextManager[str]]
) -> Iterator[str]:
    """The Dify endpoint of a server with keys: what an operator pastes into Dify."""
    with_keys = settings.model_copy(update={"api_keys": [KEY, "another"]})
    with serve(create_app(with_keys, kb), with_keys) as url:
        yield f"{url}/dify"


def test_dify_registers_the_endpoint_with_the_right_key_only(keyed: str) -> None:
    ok = dify_registration_check(keyed, KEY)
    assert ok.status_code not in (502, 404, 403)  # what Dify refuses
    assert ok.status_code == 415 and ok.json()["error_code"] == 415  # no JSON body: the key was fine
    refused = dify_registration_check(keyed, "wrong")
    assert refused.status_code == 403
    assert refused.json() == {
        "error_code": 1002,
        "error_msg": "missing or wrong API key: send 'Authorization: Bearer <key>'",
    }


def test_a_question_the_articles_answer_gets_cited_records(keyed: str, server_url: str) -> None:
    resp = dify_retrieval(keyed, KEY, "群里全是广告,没人说话怎么办", top_k=3)
    assert resp.status_code == 200
    records = resp.json()["records"]
    assert len(records) == 3
    top = records[0]
    assert top["metadata"]["id"] == "p002-ad-only-groups"
    assert top["title"] == "群里只剩广告(《90%的微信群没有必要存在：微信群运营的三个致命问题》)"
    # what an LLM reads: the title, the summary, the advice and who states it, the passage
    lines = top["content"].split("\n")
    assert lines[0] == "群里只剩广告" and lines[2].startswith("建议(文章原话):群内打广告必须禁止")
    assert lines[-1].startswith(
        "原文(《90%的微信群没有必要存在：微信群运营的三个致命问题》):2、只有广告的微信群"
    )
    meta = top["metadata"]
    assert {k: meta[k] for k in ("type", "doc", "doc_id", "start", "end", "group", "advice_source")} == {
        "type": "pitfall",
        "doc": "002_d226979a116dad90.txt",
        "doc_id": "002",
        "start": 638,
        "end": 793,
        "group": "g002-fatal-problems",
        "advice_source": "article",
    }
    assert meta["url"].endswith("/#/article/002_d226979a116dad90.txt?p=p002-ad-only-groups&start=638&end=793")
    # metadata is an object on every record, never null (null breaks Dify's pipeline)
    assert all(isinstance(r["metadata"], dict) and r["metadata"]["url"] for r in records)
    # the records are /search's hits: same principles, score = relevance
    search = httpx.post(
        f"{server_url}/search",
        json={"query": "群里全是广告,没人说话怎么办", "k": 3},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()
    assert [(r["metadata"]["id"], r["score"]) for r in records] == [
        (h["id"], h["relevance"]) for h in search["hits"]
    ]


def test_the_score_threshold_is_min_relevance(keyed: str) -> None:
    every = dify_retrieval(keyed, KEY, "社群定位分哪几步", top_k=10).json()["records"]
    kept = dify_retrieval(keyed, KEY, "社群定位分哪几步", top_k=10, score_threshold=0.5).json()["records"]
    assert 0 < len(kept) < len(every)
    assert kept == [r for r in every if r["score"] >= 0.5]


def test_out_of_scope_gets_no_records_over_a_threshold(keyed: str) -> None:
    resp = dify_retrieval(keyed, KEY, "红烧肉怎么做才能肥而不腻?", score_threshold=0.5)
    assert resp.status_code == 200 and resp.json() == {"records": []}


@pytest.mark.parametrize(
    ("knowledge_id", "field", "value"),
    [("pitfall", "type", "pitfall"), ("004", "doc_id", "004"), ("004_8290fcecfd6f0502.txt", "doc_id", "004")],
)
def test_a_knowledge_id_is_a_scope(keyed: str, knowledge_id: str, field: str, value: str) -> None:
    records = dify_retrieval(keyed, KEY, "群里没人说话", knowledge_id=knowledge_id, top_k=5).json()["records"]
    assert len(records) == 5 and {r["metadata"][field] for r in records} == {value}


def _ids(endpoint: str, condition: dict[str, Any], knowledge_id: str = "all") -> list[str]:
    resp = dify_retrieval(endpoint, KEY, "群里全是广告", knowledge_id, top_k=10, metadata_condition=condition)
    assert resp.status_code == 200, resp.text
    return [r["metadata"]["id"] for r in resp.json()["records"]]


def _cond(*conditions: tuple[Any, str, Any], op: str | None = "and") -> dict[str, Any]:
    # the shape of Dify's MetadataCondition.model_dump()
    return {
        "logical_operator": op,
        "conditions": [{"name": n, "comparison_operator": c, "value": v} for n, c, v in conditions],
    }


def test_metadata_conditions_filter_on_type_doc_and_group(keyed: str, kb: KnowledgeBase) -> None:
    catalog = kb.index.catalog
    doc_002 = _ids(keyed, _cond(("doc", "is", "002")))
    assert doc_002 and all(catalog.get(i).source.doc.startswith("002_") for i in doc_002)
    assert _ids(keyed, _cond(("doc", "is", "002_d226979a116dad90.txt"))) == doc_002
    rules = _ids(keyed, _cond(("doc", "is", "002"), ("type", "is", "rule")))
    assert rules and all(catalog.get(i).type == "rule" and i in doc_002 for i in rules)
    either = _ids(
        keyed, _cond(("type", "in", ["rule", "case"]), ("group", "is", "g002-fatal-problems"), op="or")
    )
    assert either and all(
        catalog.get(i).type in ("rule", "case") or catalog.get(i).group == "g002-fatal-problems"
        for i in either
    )
    assert "p002-ad-only-groups" in either  # a member of g002-fatal-problems
    no_list = _ids(keyed, _cond(("group", "empty", None)))
    assert no_list and all(catalog.get(i).group is None for i in no_list)
    not_002 = _ids(keyed, _cond(("doc", "not contains", "002_")))
    assert not_002 and not set(not_002) & set(doc_002)
    # no principle matches: no records, not an error
    assert _ids(keyed, _cond(("type", "is", "no-such-type"))) == []


def test_unknown_condition_names_are_ignored(keyed: str) -> None:
    plain = _ids(keyed, {})
    assert _ids(keyed, _cond(("category", "is", "AI"), ("tag", "contains", "x"))) == plain
    assert _ids(keyed, _cond(("doc", "is", "002"), ("category", "is", "AI"))) == _ids(
        keyed, _cond(("doc", "is", "002"))
    )
    # older Dify documents a list of names: each supported one is a condition, the others are ignored
    assert _ids(keyed, _cond((["doc", "category"], "is", "002"))) == _ids(keyed, _cond(("doc", "is", "002")))


@pytest.mark.parametrize(
    ("api_key", "headers", "status", "error_code"),
    [
        (None, None, 403, 1001),  # no Authorization header
        (None, {"Authorization": "Basic ZGlmeQ=="}, 403, 1001),
        (None, {"Authorization": "Bearer"}, 403, 1001),
        ("wrong", None, 403, 1002),
    ],
)
def test_key_errors_in_difys_shape(
    keyed: str, api_key: str | None, headers: dict[str, str] | None, status: int, error_code: int
) -> None:
    if headers is None:
        resp = dify_retrieval(keyed, api_key, "社群定位")
    else:
        body = {
            "knowledge_id": "all",
            "query": "社群定位",
            "retrieval_setting": {"top_k": 3, "score_threshold": 0.0},
        }
        resp = httpx.post(f"{keyed}/retrieval", json=body, headers=headers, timeout=DIFY_TIMEOUT)
    assert resp.status_code == status
    assert resp.json()["error_code"] == error_code and "Bearer" in resp.json()["error_msg"]


def test_an_unknown_knowledge_is_2001(keyed: str, kb: KnowledgeBase) -> None:
    resp = dify_retrieval(keyed, KEY, "社群定位", knowledge_id="AAA-BBB-CCC")
    assert resp.status_code == 404
    body = resp.json()
    assert body["error_code"] == 2001 and set(body) == {"error_code", "error_msg"}
    assert body["error_msg"].startswith("knowledge_id: no knowledge 'AAA-BBB-CCC'; known: all, ")
    assert "pitfall" in body["error_msg"] and "004" in body["error_msg"]


@pytest.mark.parametrize(
    ("kwargs", "status", "says"),
    [
        ({"top_k": 0}, 422, "retrieval_setting.top_k"),
        ({"score_threshold": 1.5}, 422, "retrieval_setting.score_threshold"),
        ({"query": "群" * 501}, 422, "query"),
        ({"query": "   "}, 422, "query: must contain some text"),
        ({"metadata_condition": _cond(("doc", ">", "002"))}, 422, "'>' does not apply to doc"),
        ({"metadata_condition": _cond(("type", "is", ["a", "b"]))}, 422, "compares with one value"),
    ],
)
def test_bad_requests_in_difys_shape(keyed: str, kwargs: dict[str, Any], status: int, says: str) -> None:
    args: dict[str, Any] = {"query": "社群定位", **kwargs}
    resp = dify_retrieval(keyed, KEY, **args)
    assert resp.status_code == status
    body = resp.json()
    assert set(body) == {"error_code", "error_msg"} and body["error_code"] == status
    assert says in body["error_msg"]


def test_a_null_top_k_and_extra_fields_are_accepted(keyed: str) -> None:
    # Dify sends top_k as its stored setting, which may be unset; a newer Dify may add fields
    body = {
        "knowledge_id": "all",
        "query": "社群定位",
        "retrieval_setting": {"top_k": None, "score_threshold": 0.0, "rerank": True},
        "metadata_condition": None,
        "user": "someone",
    }
    resp = httpx.post(f"{keyed}/retrieval", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert resp.status_code == 200 and len(resp.json()["records"]) == 5


def test_other_routes_keep_our_error_shape(keyed: str) -> None:
    base = keyed.removesuffix("/dify")
    resp = httpx.post(f"{base}/search", json={"query": "x"}, headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401 and set(resp.json()["error"]) == {"code", "message"}
    big = httpx.post(
        f"{keyed}/retrieval", content=b"{" + b" " * 70_000 + b"}", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert big.status_code == 413 and big.json()["error_code"] == 413


def test_without_keys_the_key_dify_sends_is_not_checked(server_url: str) -> None:
    resp = dify_retrieval(f"{server_url}/dify", "anything-dify-sends", "社群定位分哪几步")
    assert resp.status_code == 200 and len(resp.json()["records"]) == 3


def test_the_openapi_document_describes_the_dify_route(keyed: str) -> None:
    doc = httpx.get(
        f"{keyed.removesuffix('/dify')}/openapi.json", headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    responses = doc["paths"]["/dify/retrieval"]["post"]["responses"]
    # Dify's statuses (403, not 401, for a key error), each error in Dify's shape
    assert sorted(responses) == ["200", "400", "403", "404", "413", "415", "422", "500", "503"]
    shapes = {r["content"]["application/json"]["schema"]["$ref"] for c, r in responses.items() if c != "200"}
    assert shapes == {"#/components/schemas/DifyError"}
    schemas = doc["components"]["schemas"]
    assert set(schemas["DifyError"]["properties"]) == {"error_code", "error_msg"}
    ids = schemas["DifyRetrievalRequest"]["properties"]["knowledge_id"]["enum"]
    assert ids[:2] == ["all", "case"] and "pitfall" in ids and ids[-1] == "004"
    tag = next(t for t in doc["tags"] if t["name"] == "platforms")
    assert "API Endpoint `http://HOST:8000/dify`" in tag["description"]
