"""One shape per operation: the in-process core and the HTTP client answer the same request alike."""

from __future__ import annotations

import pytest

from service.client import KBClient
from service.kb import KnowledgeBase
from service.models import AskRequest, DiagnoseRequest, PrincipleQuery, SearchRequest
from service.operations import Operations


def _both(kb: KnowledgeBase, client: KBClient) -> list[Operations]:
    return [kb, client]


@pytest.mark.parametrize(
    "call",
    [
        lambda ops: ops.search(SearchRequest(query="入群门槛", k=3)),
        lambda ops: ops.ask(AskRequest(question="社群定位分哪几步?")),
        lambda ops: ops.diagnose(DiagnoseRequest(situation="群里全是广告", k=3)),
        lambda ops: ops.get("p001-aidass-model"),
        lambda ops: ops.list_principles(PrincipleQuery(type="positioning_step")),
        lambda ops: ops.types(),
    ],
)
def test_core_and_client_agree(kb: KnowledgeBase, server_url: str, call) -> None:  # type: ignore[no-untyped-def]
    with KBClient(server_url) as client:
        local, remote = (call(ops) for ops in _both(kb, client))
        if hasattr(local, "request_id"):  # each call is its own request in the query log
            remote = remote.model_copy(update={"request_id": local.request_id})
        assert remote == local
