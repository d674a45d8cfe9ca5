"""KBClient against the real app on a socket; the CLI's --url mode rides on it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service import cli
from service.client import KBClient, KBClientError
from service.kb import KnowledgeBase
from service.models import (
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Principle,
    PrincipleQuery,
    SearchRequest,
    SearchResponse,
)

ROOT = Path(__file__).resolve().parent.parent


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
    monkeypatch.setattr("service.kb.KnowledgeBase.load", classmethod(lambda cls, settings, **kw: kb))
    runner = CliRunner()
    remote = runner.invoke(cli.app, ["ask", "群公告怎么写?", "--json", "--url", server_url])
    local = runner.invoke(cli.app, ["ask", "群公告怎么写?", "--json"])
    assert remote.exit_code == local.exit_code == 0
    # the same answer; each response has its own request id
    there, here = json.loads(remote.stdout), json.loads(local.stdout)
    assert there.pop("request_id") != here.pop("request_id")
    assert there == here


def test_methods_for_a_dashboard(server_url: str, kb: KnowledgeBase) -> None:
    with KBClient(server_url) as c:
        there, here = c.ask("社群定位分哪几步?", k=3), kb.ask(AskRequest(question="社群定位分哪几步?", k=3))
        assert there.model_copy(update={"request_id": None}) == here.model_copy(update={"request_id": None})
        assert c.documents() == kb.documents()
        p = kb.get("p002-ad-only-groups").source
        assert c.document("002", start=p.start, end=p.end).range.raw == p.quote  # type: ignore[union-attr]
        page = c.list_principles(type="pitfall", limit=5, offset=5)
        assert page == kb.list_principles(PrincipleQuery(type="pitfall", limit=5, offset=5))
        assert [q.id for q in c.iter_principles(doc="002", limit=7)] == [
            q.id for q in kb.list_principles(PrincipleQuery(doc="002", limit=500)).principles
        ]
        batch = c.search_batch(["群里全是广告", "入群门槛"], k=2)
        assert [r.query for r in batch.results] == ["群里全是广告", "入群门槛"]
        by_text, by_model = c.search("入群门槛", k=2), c.search(SearchRequest(query="入群门槛", k=2))
        assert by_text.model_copy(update={"request_id": None}) == by_model.model_copy(
            update={"request_id": None}
        )


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (lambda c: c.ask(""), "invalid_input", "question: String should have at least 1 character"),
        (lambda c: c.ask("社群", k="5"), "invalid_input", "k: Input should be a valid integer"),
        (lambda c: c.search("群", top=3), "invalid_input", "top: Extra inputs are not permitted"),
        (lambda c: c.list_principles(limit=0), "invalid_input", "limit"),
        (lambda c: c.document(""), "invalid_input", "non-empty id"),
        (lambda c: c.document("009"), "not_found", "no document '009'"),
        (lambda c: c.search("群", docs=["009"]), "unknown_document", "docs: unknown document"),
    ],
)
def test_every_failure_is_a_client_error(server_url: str, call: object, code: str, message: str) -> None:
    with KBClient(server_url) as c, pytest.raises(KBClientError) as err:
        call(c)  # type: ignore[operator]
    assert err.value.code == code and message in err.value.message


def test_unreachable_and_unexpected_answers_are_client_errors(server_url: str) -> None:
    with KBClient("http://127.0.0.1:9", timeout=2) as c, pytest.raises(KBClientError) as err:
        c.health()
    assert (err.value.status, err.value.code) == (0, "unreachable")
    with KBClient(server_url) as c, pytest.raises(KBClientError) as err:
        c._call(Principle, "GET", "/types")  # a TypeList where a Principle was expected
    assert err.value.code == "bad_response"  # a body of the wrong shape: not a knowledge-base answer


_LIGHT = textwrap.dedent(
    """
    import importlib.util, json, sys
    heavy = [m for m in ("torch", "sentence_transformers", "faiss", "onnxruntime", "fastapi", "numpy")
             if importlib.util.find_spec(m) is not None]
    from service.client import KBClient, KBClientError
    with KBClient(sys.argv[1]) as kb:
        reply = kb.ask("社群定位分哪几步?", k=3)
        page = kb.list_principles(type="pitfall", limit=2)
        docs = kb.documents()
        try:
            kb.ask("")
            error = None
        except KBClientError as exc:
            error = exc.code
    print(json.dumps({"heavy": heavy, "answered": reply.answered, "page": len(page.principles),
                      "total": page.total, "documents": docs.total, "error": error,
                      "loaded": sorted(m for m in ("torch", "numpy", "fastapi") if m in sys.modules)}))
    """
)


def test_client_installs_and_runs_without_the_server(server_url: str, tmp_path: Path) -> None:
    """A fresh venv, `pip install` of this repository without extras: httpx and pydantic only."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "service", src / "service", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(src)],
        check=True,
        env=env,
        timeout=600,
    )
    freeze = subprocess.run([py, "-m", "pip", "freeze"], check=True, capture_output=True, text=True, env=env)
    installed = {line.split("==")[0].lower() for line in freeze.stdout.split()}
    assert {"httpx", "pydantic", "community-ops-kb"} <= installed
    assert not installed & {"torch", "sentence-transformers", "faiss-cpu", "onnxruntime", "fastapi", "numpy"}
    run = subprocess.run(
        [py, "-c", _LIGHT, server_url], cwd=tmp_path, check=True, capture_output=True, text=True, env=env
    )
    result = json.loads(run.stdout)
    assert result == {
        "heavy": [],
        "answered": True,
        "page": 2,
        "total": result["total"],
        "documents": 5,
        "error": "invalid_input",
        "loaded": [],
    }
    assert result["total"] > 20
