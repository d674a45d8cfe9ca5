"""Chat-assistant tools: OpenAI schemas, /tools/call, and real MCP client sessions over stdio and HTTP."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import anyio
import jsonschema
import pytest
from fastapi.testclient import TestClient
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from service import tools
from service.errors import InputError
from service.hits import QUOTE_CHARS
from service.kb import KnowledgeBase
from service.models import DiagnoseRequest
from service.normalize import readable_text

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("search_principles", {"query": "入群门槛", "k": 3, "types": ["pitfall"]}),
    ("ask", {"question": "社群内容分哪几类?"}),
    ("diagnose_situation", {"situation": "群里全是广告,老板还要我再建二十个群"}),
    ("get_principle", {"id": "p001-aidass-model"}),
    ("list_types", {}),
]


def _walk_objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema] if schema.get("type") == "object" else []
    for value in schema.values():
        if isinstance(value, dict):
            found += _walk_objects(value)
        elif isinstance(value, list):
            found += [o for v in value if isinstance(v, dict) for o in _walk_objects(v)]
    return found


def test_openai_tool_schemas_are_strict(client: TestClient) -> None:
    listed = client.get("/tools").json()["tools"]
    assert [t["function"]["name"] for t in listed] == [t.name for t in tools.TOOLS]
    for t in listed:
        fn = t["function"]
        assert t["type"] == "function" and fn["strict"] is True and fn["description"]
        jsonschema.Draft202012Validator.check_schema(fn["parameters"])
        for obj in _walk_objects(fn["parameters"]):
            assert obj["additionalProperties"] is False
            assert sorted(obj["required"]) == sorted(obj["properties"])


@pytest.mark.parametrize(("name", "arguments"), CALLS)
def test_arguments_validate_against_the_published_schema(
    client: TestClient, name: str, arguments: dict
) -> None:  # type: ignore[type-arg]
    schema = next(
        t["function"]["parameters"]
        for t in client.get("/tools").json()["tools"]
        if t["function"]["name"] == name
    )
    full = {
        k: arguments.get(k) for k in schema["properties"]
    }  # strict mode sends every key, null when unused
    jsonschema.validate(full, schema)


@pytest.mark.parametrize(("name", "arguments"), CALLS)
def test_tools_call_returns_what_the_core_returns(
    client: TestClient,
    kb: KnowledgeBase,
    name: str,
    arguments: dict,  # type: ignore[type-arg]
) -> None:
    r = client.post("/tools/call", json={"name": name, "arguments": arguments})
    assert r.status_code == 200, r.text
    got, want = r.json(), tools.call_tool(kb, name, arguments).model_dump(mode="json")
    if "request_id" in want:  # each call's own: over HTTP the request's, as X-Request-ID says
        assert got["result"].pop("request_id") == r.headers["x-request-id"]
        assert want.pop("request_id") != r.headers["x-request-id"]
    assert got == {"name": name, "result": want}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "nope", "arguments": {}}, "'nope' found using 'name' does not match any of the expected"),
        ({"name": "ask", "arguments": {"q": "x"}}, "arguments.question: Field required"),
        ({"name": "ask", "arguments": {"question": "  "}}, "arguments.question: must contain some text"),
        ({"name": "search_principles", "arguments": {"query": "群", "k": 99}}, "arguments.k"),
        ({"name": "get_principle", "arguments": {"id": "nope"}}, "no principle with id 'nope'"),
    ],
)
def test_tools_call_errors(client: TestClient, body: dict, message: str) -> None:  # type: ignore[type-arg]
    r = client.post("/tools/call", json=body)
    assert 400 <= r.status_code < 500
    assert message in r.json()["error"]["message"]


def test_refusal_through_tools(client: TestClient) -> None:
    r = client.post(
        "/tools/call", json={"name": "ask", "arguments": {"question": "今天的黄金价格是多少?"}}
    ).json()
    assert r["result"]["answered"] is False and r["result"]["sources"] == []


def test_tools_list_the_served_vocabulary(client: TestClient, kb: KnowledgeBase) -> None:
    search = next(
        t for t in client.get("/tools").json()["tools"] if t["function"]["name"] == "search_principles"
    )
    props = search["function"]["parameters"]["properties"]
    assert props["types"]["anyOf"][0]["items"]["enum"] == [t.name for t in kb.types().types]
    assert {"000", "000_8a13e7523ba96b1d.txt"} <= set(props["docs"]["anyOf"][0]["items"]["enum"])


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("ask", {"question": "社群定位分哪几步?", "k": "5"}, "arguments.k: Input should be a valid integer"),
        ("ask", {"question": "社群定位分哪几步?", "top": 3}, "arguments.top: Extra inputs are not permitted"),
        (
            "diagnose_situation",
            {"situation": "群里全是广告", "pitfalls_only": "no"},
            "arguments.pitfalls_only",
        ),
        ("search_principles", {"query": "广告", "docs": ["009"]}, "docs: unknown document"),
    ],
)
def test_wrong_arguments_are_errors(kb: KnowledgeBase, name: str, arguments: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError, match=message):
        tools.call_tool(kb, name, arguments)


def test_ask_takes_k_and_diagnose_takes_pitfalls_only(kb: KnowledgeBase) -> None:
    one = tools.call_tool(kb, "ask", {"question": "社群定位分哪几步?", "k": 1}).model_dump()
    assert len(one["sources"]) == 1 and one["answered"]  # k is honoured, even on a list answer
    situation = "老板让我一周建50个群，群里全是广告没人说话"
    only = tools.call_tool(kb, "diagnose_situation", {"situation": situation, "pitfalls_only": True, "k": 8})
    assert {p["type"] for p in only.model_dump()["pitfalls"]} == {"pitfall"}
    # the default: every type, like /diagnose
    wide = tools.call_tool(kb, "diagnose_situation", {"situation": situation, "k": 8}).model_dump()
    assert {p["type"] for p in wide["pitfalls"]} > {"pitfall"}
    served = kb.diagnose(DiagnoseRequest(situation=situation, k=8))
    assert [p["id"] for p in wide["pitfalls"]] == [h.id for h in served.hits]


def test_citations_carry_the_raw_quote_and_a_short_readable_text(kb: KnowledgeBase) -> None:
    result = tools.call_tool(kb, "search_principles", {"query": "群里只剩广告", "k": 3}).model_dump()
    for hit in result["results"]:
        c = hit["citation"]
        source = kb.get(hit["id"]).source
        assert c["quote"] == source.quote  # raw, exact offsets
        assert 0 < len(c["text"]) <= QUOTE_CHARS
        assert c["text"].rstrip("…")[:8] == " ".join(readable_text(source.quote).split())[:8]
    ad = next(h for h in result["results"] if h["id"] == "p002-ad-only-groups")
    assert ad["citation"]["text"].startswith("2、只有广告的微信群 无论是免费群")  # 只有廣告 in the raw text
    assert ad["citation"]["quote"].startswith("2、只有廣告的微信群")


def text_of(result: Any) -> str:
    text: str = result.content[0].text
    return text


async def _exercise(session: ClientSession, kb: KnowledgeBase) -> None:
    await session.initialize()
    listed = await session.list_tools()
    assert [t.name for t in listed.tools] == [t.name for t in tools.TOOLS]
    vocab = tools.vocabulary(kb)
    for t in listed.tools:  # the argument models' own schemas, with the served index's enums
        assert t.input_schema == tools.input_schema(tools.BY_NAME[t.name], vocab)
    search = next(t for t in listed.tools if t.name == "search_principles").input_schema["properties"]
    assert search["query"]["maxLength"] == 500 and search["query"]["description"]
    assert search["k"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 50}
    assert search["types"]["anyOf"][0]["items"]["enum"] == vocab["types"]
    assert search["docs"]["anyOf"][0]["items"]["enum"][:2] == ["000", "001"]
    ask = next(t for t in listed.tools if t.name == "ask").input_schema["properties"]
    assert set(ask) == {"question", "k"}
    diagnose = next(t for t in listed.tools if t.name == "diagnose_situation").input_schema["properties"]
    assert set(diagnose) == {"situation", "k", "pitfalls_only"}
    for name, arguments in CALLS:
        result = await session.call_tool(name, arguments)
        assert not result.is_error, result
        got = result.structured_content
        assert got is not None
        expected = tools.call_tool(kb, name, arguments)
        if "request_id" in got:  # the call's own id, in the text too, for give_feedback
            assert re.fullmatch(r"[!-~]{1,64}", got["request_id"]) and got["request_id"] in text_of(result)
            expected.request_id = got["request_id"]  # type: ignore[attr-defined]
        assert got == expected.model_dump(mode="json")
        text = text_of(result)
        assert text == tools.compact_json(expected) and "\n  " not in text and '": ' not in text
        assert json.loads(text) == result.structured_content
    for arguments, message in [
        ({"question": "社群定位分哪几步?", "k": "5"}, "arguments.k"),
        ({"question": "社群定位分哪几步?", "top": 3}, "arguments.top"),
    ]:
        wrong = await session.call_tool("ask", arguments)
        assert wrong.is_error and message in wrong.content[0].text  # type: ignore[union-attr]
    wide = await session.call_tool(
        "diagnose_situation", {"situation": "群里全是广告", "pitfalls_only": False}
    )
    assert not wide.is_error
    bad = await session.call_tool("get_principle", {"id": "nope"})
    assert bad.is_error and "no principle with id 'nope'" in bad.content[0].text  # type: ignore[union-attr]
    empty = await session.call_tool("ask", {"question": "   "})
    assert empty.is_error
    refused = await session.call_tool("ask", {"question": "红烧肉怎么做?"})
    assert refused.structured_content is not None and refused.structured_content["answered"] is False
    # the articles, to read around a citation
    resources = (await session.list_resources()).resources
    assert [str(r.uri) for r in resources] == [f"kb://documents/{i:03d}" for i in range(5)]
    assert resources[2].title == kb.document("002").title
    whole = (await session.read_resource("kb://documents/002")).contents[0]
    assert whole.text == kb.document("002").text  # type: ignore[union-attr]
    s = kb.get("p002-ad-only-groups").source
    part = (await session.read_resource(f"kb://documents/002/{s.start}-{s.end}")).contents[0]
    assert part.text == s.quote  # type: ignore[union-attr]
    with pytest.raises(MCPError, match="no document '009'"):
        await session.read_resource("kb://documents/009")


def test_mcp_over_streamable_http(server_url: str, kb: KnowledgeBase) -> None:
    async def main() -> None:
        async with (
            streamable_http_client(f"{server_url}/mcp") as streams,
            ClientSession(streams[0], streams[1]) as s,
        ):
            await _exercise(s, kb)

    anyio.run(main)


def test_mcp_over_stdio(kb: KnowledgeBase) -> None:
    # this process's environment (the SDK passes a minimal one): the server's query log goes where the
    # suite's does (conftest's KB_DATA_DIR), never into the project's data folder
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", "from service.cli import main; main()", "mcp"],
        env=dict(os.environ),
    )

    async def main() -> None:
        with open("/dev/null", "w") as devnull:
            async with (
                stdio_client(params, errlog=devnull) as streams,
                ClientSession(streams[0], streams[1]) as s,
            ):
                await _exercise(s, kb)

    anyio.run(main)


def test_tools_carry_the_brief_coverage_and_provenance(kb: KnowledgeBase) -> None:
    # an assistant gets what a person gets: the brief first, the coverage, who states the advice
    answer = tools.call_tool(kb, "ask", {"question": "群里全是广告怎么办"}).model_dump()
    assert (
        answer["coverage"] == "answered" and answer["brief"] and answer["answer"].startswith(answer["brief"])
    )
    assert all(s["advice_source"] in ("article", "curator") for s in answer["sources"] if s["advice"])
    refused = tools.call_tool(kb, "ask", {"question": "社群运营工资一般多少"}).model_dump()
    assert refused["coverage"] == "not_covered" and refused["suggestions"] and not refused["sources"]
    situation = "群里每天都是广告,正经讨论的人越来越少"
    diagnosed = tools.call_tool(kb, "diagnose_situation", {"situation": situation}).model_dump()
    assert diagnosed["answered"] and diagnosed["reading"].startswith("主要")
    declined = tools.call_tool(kb, "diagnose_situation", {"situation": "今天中午吃什么好呢,我想吃火锅"})
    assert not declined.model_dump()["answered"] and declined.model_dump()["message"]
