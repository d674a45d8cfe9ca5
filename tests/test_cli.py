"""The CLI prints exactly the API's JSON, fails with one `error:` line, and starts without torch."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service import cli
from service.kb import KnowledgeBase

runner = CliRunner()


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
    printed, r = json.loads(result.stdout), client.post(path, json=body)
    answered = r.json()
    # the one field that differs: each response's own request id (over HTTP, its X-Request-ID)
    assert answered.pop("request_id") == r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", printed.pop("request_id"))
    assert printed == answered


def test_citations_are_shown_readable(local_kb: None) -> None:
    # article 002's raw text is traditional with pinyin: 只有廣告 … 群內(nèi)爆粉
    result = runner.invoke(cli.app, ["search", "群里只有广告", "--doc", "002", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "「2、只有广告的微信群" in result.stdout and "廣告" not in result.stdout
    assert "相关度" in result.stdout
    shown = runner.invoke(cli.app, ["show", "p002-ad-only-groups"])
    assert "群内爆粉" in shown.stdout and "(nèi)" not in shown.stdout


def test_min_relevance_option(local_kb: None) -> None:
    result = runner.invoke(cli.app, ["search", "xyz", "--min-relevance", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hits"] == []


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
    assert all(h.title in result.stdout for h in linked)
    assert all(h.why in result.stdout for h in linked if not h.matched)
    full = runner.invoke(cli.app, ["diagnose", situation, "--k", "10", "--full"])
    assert all(f"↳ {h.why}" in full.stdout for h in linked if not h.matched)


def test_diagnose_declines_with_a_message_and_exit_3(local_kb: None) -> None:
    result = runner.invoke(cli.app, ["diagnose", "今天中午吃什么好呢,我想吃火锅"])
    assert result.exit_code == 3 and "不是社群运营中的问题" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "no-such-id"], 2, "error: 找不到这条原则(no principle with id 'no-such-id'"),
        (["search", "社群", "--type", "nope"], 2, "error: 未知的类型(types: unknown type(s) nope"),
        (["search", "   "], 2, "error: 搜索词 QUERY 只有空白或看不见的字符:请写要搜索的词"),
        (["ask", "社群", "--k", "99"], 2, "error: --k 不能大于 20"),
        (["ask", ""], 2, "error: 问题 QUESTION 不能为空:请写一个社群运营方面的问题"),
        # --json keeps the API's English code and message
        (["ask", "社群", "--k", "99", "--json"], 2, "error: [invalid_input] k: Input should be less than"),
        (["show", "no-such-id", "--json"], 2, "error: [not_found] no principle with id 'no-such-id'"),
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


@pytest.fixture(scope="module")
def foreign_server() -> Iterator[str]:
    """Something that is not a knowledge-base server: 200 with HTML on every path, or a JSON body of
    another shape on /json/…, or a 404 page on /missing/…."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            status, kind, body = 200, "text/html", b"<html><body>welcome</body></html>"
            if self.path.startswith("/json/"):
                kind, body = "application/json", b'{"status": "ok"}'
            elif self.path.startswith("/missing/"):
                status, body = 404, b"<html>not found</html>"
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("url", "key", "code", "message"),
    [
        ("http://[::1", None, 2, "error: 'http://[::1' is not a valid URL"),
        ("localhost:8000", None, 2, "error: 'localhost:8000' is not an http:// or https:// URL"),
        ("ftp://127.0.0.1", None, 2, "error: 'ftp://127.0.0.1' is not an http:// or https:// URL"),
        ("http://127.0.0.1:9", "钥匙", 2, "error: the API key must be printable ASCII"),
        ("http://127.0.0.1:9", None, 1, "error: no server answered at http://127.0.0.1:9"),
        ("{foreign}", None, 1, "error: {foreign}/ask answered 200 (text/html) with a body that is not"),
        ("{foreign}/json", None, 1, "error: {foreign}/json/ask answered 200 (application/json) with a body"),
        ("{foreign}/missing", None, 1, "error: {foreign}/missing/ask answered 404 (text/html) without a"),
    ],
)
def test_url_mode_names_the_real_cause_in_one_line(
    foreign_server: str, url: str, key: str | None, code: int, message: str
) -> None:
    # issue 15.5: tracebacks for a bad URL or key; an HTML server blamed on the input (exit 2)
    args = ["ask", "群", "--url", url.format(foreign=foreign_server), *(["--api-key", key] if key else [])]
    result = runner.invoke(cli.app, args)
    assert isinstance(result.exception, SystemExit), result.exception  # not an escaped exception
    assert result.exit_code == code, result.stderr
    # a Chinese lead saying what to do, the client's own detail (the URL, the status) in brackets
    assert result.stderr.startswith("error: "), result.stderr
    assert message.removeprefix("error: ").format(foreign=foreign_server) in result.stderr, result.stderr
    assert re.match(r"error: .*[\u4e00-\u9fff]", result.stderr), result.stderr
    assert result.stderr.count("\n") == 1
    if "foreign" in url:
        assert "is --url a knowledge-base server?" in result.stderr


def test_an_unexpected_error_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "error: unexpected RuntimeError: a bug\n"
