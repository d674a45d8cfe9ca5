"""The CLI prints exactly the API's JSON, fails with one `error:` line, and starts without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service import cli
from service.kb import KnowledgeBase

runner = CliRunner()


@pytest.fixture()
def local_kb(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI loads the same index; reuse the session's instead of loading the model again
    monkeypatch.setattr("service.kb.KnowledgeBase.load", classmethod(lambda cls, settings: kb))


@pytest.mark.parametrize(
    ("args", "path", "body"),
    [
        (["ask", "社群定位分哪几步?"], "/ask", {"question": "社群定位分哪几步?"}),
        (["diagnose", "群里全是广告没人说话"], "/diagnose", {"situation": "群里全是广告没人说话"}),
        (
            ["diagnose", "群越建越多却没人说话", "--k", "6", "--pitfalls-only"],
            "/diagnose",
            {"situation": "群越建越多却没人说话", "k": 6, "pitfalls_only": True},
        ),
        (
            ["search", "门槛", "--k", "3", "--type", "pitfall"],
            "/search",
            {"query": "门槛", "k": 3, "types": ["pitfall"]},
        ),
    ],
)
def test_json_matches_the_api(
    local_kb: None, client: TestClient, args: list[str], path: str, body: dict
) -> None:  # type: ignore[type-arg]
    result = runner.invoke(cli.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == client.post(path, json=body).json()


def test_show_reads_well(local_kb: None) -> None:
    result = runner.invoke(cli.app, ["show", "p001-aidass-model"])
    assert result.exit_code == 0
    assert "AIDASS" in result.stdout and "出处" in result.stdout and "能回答的问题" in result.stdout


def test_diagnose_marks_linked_principles(local_kb: None, kb: KnowledgeBase) -> None:
    from service.models import DiagnoseRequest

    situation = "老板考核我们建了多少个群,现在已经五十多个群了,可每个群都冷冷清清"
    linked = [h for h in kb.diagnose(DiagnoseRequest(situation=situation, k=10)).hits if h.linked_from]
    result = runner.invoke(cli.app, ["diagnose", situation, "--k", "10"])
    assert result.exit_code == 0 and linked
    assert all(h.title in result.stdout for h in linked) and "↳" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "no-such-id"], 2, "error: no principle with id 'no-such-id'"),
        (["search", "社群", "--type", "nope"], 2, "error: types: unknown type(s) nope"),
        (["search", "   "], 2, "error: query: must contain some text"),
        (["ask", "社群", "--k", "99"], 2, "error: k: Input should be less than or equal to 20"),
    ],
)
def test_errors_are_one_line(local_kb: None, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(cli.app, args)
    assert result.exit_code == code
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)


def test_refusal_exits_3(local_kb: None) -> None:
    result = runner.invoke(cli.app, ["ask", "明天北京天气怎么样?"])
    assert result.exit_code == 3
    assert "没有" in result.stdout


def test_url_mode_reports_unreachable_server() -> None:
    result = runner.invoke(cli.app, ["ask", "社群", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from service.cli import app; from typer.main import get_command; "
        "get_command(app).main(['--help'], standalone_mode=False); "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False False")
