"""KBClient against the real app on a socket; the CLI's --url mode rides on it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from service import cli
from service.client import KBClient, KBClientError
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Principle,
    SearchRequest,
    SearchResponse,
)


def test_typed_methods(server_url: str) -> None:
    with KBClient(server_url) as kb:
        assert isinstance(kb.search(SearchRequest(query="入群门槛", k=2)), SearchResponse)
        ask = kb.ask(AskRequest(question="社群定位分哪几步?"))
        assert isinstance(ask, AskResponse) and ask.answered
        assert isinstance(kb.diagnose(DiagnoseRequest(situation="群里全是广告")), DiagnoseResponse)
        assert isinstance(kb.get("p001-aidass-model"), Principle)
        assert kb.health().status == "ok"
        assert "pitfall" in {t.name for t in kb.types().types}


def test_errors_carry_status_and_code(server_url: str) -> None:
    with KBClient(server_url) as kb:
        with pytest.raises(KBClientError) as err:
            kb.get("nope")
        assert (err.value.status, err.value.code) == (404, "not_found")
        with pytest.raises(KBClientError) as err:
            kb.search(SearchRequest(query="群", types=["nope"]))
        assert (err.value.status, err.value.code) == (422, "unknown_type")


def test_cli_url_mode_matches_local(server_url: str, kb: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.kb.KnowledgeBase.load", classmethod(lambda cls, settings: kb))
    runner = CliRunner()
    remote = runner.invoke(cli.app, ["ask", "群公告怎么写?", "--json", "--url", server_url])
    local = runner.invoke(cli.app, ["ask", "群公告怎么写?", "--json"])
    assert remote.exit_code == local.exit_code == 0
    assert json.loads(remote.stdout) == json.loads(local.stdout)
