"""Chat-assistant tools: OpenAI schemas, /tools/call, and real MCP client sessions over stdio and HTTP."""

from __future__ import annotations

import sys
from typing import Any

import anyio
import jsonschema
import pytest
from fastapi.testclient import TestClient
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from service import tools
from service.kb import KnowledgeBase

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
    assert r.json() == {"name": name, "result": tools.call_tool(kb, name, arguments).model_dump(mode="json")}


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


async def _exercise(session: ClientSession, kb: KnowledgeBase) -> None:
    await session.initialize()
    listed = await session.list_tools()
    assert [t.name for t in listed.tools] == [t.name for t in tools.TOOLS]
    for name, arguments in CALLS:
        result = await session.call_tool(name, arguments)
        assert not result.is_error, result
        assert result.structured_content == tools.call_tool(kb, name, arguments).model_dump(mode="json")
    bad = await session.call_tool("get_principle", {"id": "nope"})
    assert bad.is_error and "no principle with id 'nope'" in bad.content[0].text  # type: ignore[union-attr]
    empty = await session.call_tool("ask", {"question": "   "})
    assert empty.is_error
    refused = await session.call_tool("ask", {"question": "红烧肉怎么做?"})
    assert refused.structured_content is not None and refused.structured_content["answered"] is False


def test_mcp_over_streamable_http(server_url: str, kb: KnowledgeBase) -> None:
    async def main() -> None:
        async with (
            streamable_http_client(f"{server_url}/mcp") as streams,
            ClientSession(streams[0], streams[1]) as s,
        ):
            await _exercise(s, kb)

    anyio.run(main)


def test_mcp_over_stdio(kb: KnowledgeBase) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-c", "from service.cli import main; main()", "mcp"]
    )

    async def main() -> None:
        with open("/dev/null", "w") as devnull:
            async with (
                stdio_client(params, errlog=devnull) as streams,
                ClientSession(streams[0], streams[1]) as s,
            ):
                await _exercise(s, kb)

    anyio.run(main)
