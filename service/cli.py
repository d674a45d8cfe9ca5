"""`kb`: the terminal edge. Parses options, calls the core (or a server with --url), renders.

Heavy modules load inside the commands, so `kb --help` never imports torch.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from service.errors import KBError
    from service.operations import Operations
    from service.settings import Settings
    from service.store.querylog import QueryLog

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    help="社群运营知识库:回答问题、诊断社群里的情况、检索带出处的运营原则。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[
    bool, typer.Option("--json", help="原样输出 HTTP API 的 JSON(错误写成 [错误码] 英文说明)")
]
UrlOpt = Annotated[str | None, typer.Option("--url", help="查询一个正在运行的服务器,而不是在本机加载索引")]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="KB_API_KEY", help="--url 服务器的 API 密钥")]


def _k_option(model: str, what: str) -> Any:
    """--k, its limits and default read from the request model (the one place they are set)."""
    from service import models

    info = getattr(models, model).model_fields["k"]
    lo, hi = (getattr(m, a) for m in info.metadata for a in ("ge", "le") if hasattr(m, a))
    return typer.Option("--k", help=f"{what}({lo}-{hi},默认 {info.default})")


def _given(**options: object) -> dict[str, Any]:
    """The options the user set: the others keep the request model's defaults."""
    return {k: v for k, v in options.items() if v is not None}


def _echo(text: str = "", err: bool = False) -> None:
    """Every line the CLI prints goes through here (or `_console`): control characters escaped."""
    from service.cli_render import printable

    typer.echo(printable(text), err=err)


def _fail(message: str, code: int = 1) -> NoReturn:
    _echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _fail_coded(code: str, message: str, exit_code: int, as_json: bool = False) -> NoReturn:
    """An error with a code: in Chinese for a person (service/cli_errors.py), `[code] message` as the
    API says it with --json."""
    from service.cli_errors import describe_error

    _fail(f"[{code}] {message}" if as_json else describe_error(code, message), exit_code)


def _fail_kb(exc: KBError, as_json: bool = False) -> NoReturn:
    """A core error, with its code's exit status."""
    from service.errors import edge

    _fail_coded(exc.code, exc.message, edge(exc.code).exit, as_json)


@contextlib.contextmanager
def _operations(url: str | None, api_key: str | None, stale_ok: bool = False) -> Iterator[Operations]:
    """The in-process core or, with --url, a server through KBClient: the same calls either way."""
    if url:
        from service.client import KBClient

        with KBClient(url, api_key=api_key) as client:
            yield client
        return
    from service.kb import KnowledgeBase
    from service.settings import get_settings

    settings = get_settings()
    query_log = _open_query_log(settings, strict=False)
    try:
        yield KnowledgeBase.load(settings, query_log=query_log, stale_ok=stale_ok)
    finally:
        if query_log is not None:
            query_log.close()  # the writer writes what this command queued before the process ends


def _open_query_log(settings: Settings, strict: bool) -> QueryLog | None:
    """The query log (migrated), or None when off; a server (`strict`) refuses to start without the one
    it is configured with, a one-off command says why it records nothing and goes on."""
    from service.errors import KBError
    from service.store.querylog import open_query_log

    try:
        return open_query_log(settings)
    except KBError as exc:
        if strict:
            _fail_kb(exc)
        typer.echo(f"warning: not recorded: {exc.message}", err=True)
        return None


def _run(
    url: str | None,
    api_key: str | None,
    op: Callable[[Operations], T],
    as_json: bool = False,
    stale_ok: bool = False,
) -> T:
    """Run one operation; any error is one line on stderr and the exit code of its error code: in
    Chinese for a person, `[code] message` as the API says it with --json."""
    from service.cli_errors import describe_invalid
    from service.client import KBClientError
    from service.errors import InputError, KBError, describe_validation, edge

    try:
        with _operations(url, api_key, stale_ok) as ops:
            return op(ops)
    except ValidationError as exc:  # a request model refused the options
        if as_json:
            _fail_coded(InputError.code, describe_validation(exc.errors()), edge(InputError.code).exit, True)
        _fail(describe_invalid(exc.errors()), edge(InputError.code).exit)
    except KBError as exc:
        _fail_kb(exc, as_json)
    except KBClientError as exc:
        _fail_coded(exc.code, exc.message, edge(exc.code, exc.status).exit, as_json)


def _print_json(model: BaseModel) -> None:
    # the HTTP API renders the same model with FastAPI's default JSON encoding
    sys.stdout.write(model.model_dump_json() + "\n")


def _say_request_id(request_id: str | None) -> None:
    # on stderr: stdout stays the answer alone; the id is what `kb feedback` needs
    if request_id:
        typer.echo(f"request id {request_id}(评价这个回答: kb feedback {request_id} up 或 down)", err=True)


def _console() -> Any:
    from service.cli_render import safe_console

    return safe_console(highlight=False, soft_wrap=True)


FullOpt = Annotated[bool, typer.Option("--full", help="显示全部内容:摘要、建议、匹配原因、完整出处")]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="用中文提的问题,例如 社群定位分哪几步?")],
    k: Annotated[int | None, _k_option("AskRequest", "最多引用几条原则")] = None,
    full: FullOpt = False,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """回答问题:先给简短结论,再列要点,每条都注明出处;知识库没有的内容会直说(退出码 3)。"""
    from service.cli_render import render_ask
    from service.models import AskRequest

    resp = _run(url, api_key, lambda ops: ops.ask(AskRequest(question=question, **_given(k=k))), json)
    if json:
        return _print_json(resp)
    render_ask(_console(), resp, full)
    _say_request_id(resp.request_id)
    if not resp.answered:
        raise typer.Exit(3)


@app.command()
def diagnose(
    situation: Annotated[str, typer.Argument(help="用自己的话描述群里出了什么问题")],
    k: Annotated[int | None, _k_option("DiagnoseRequest", "最多返回几条")] = None,
    pitfalls_only: Annotated[
        bool,
        typer.Option("--pitfalls-only", help="只列陷阱(默认也按相关度排入回应这种情况的做法、规则和说明)"),
    ] = False,
    full: FullOpt = False,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """诊断情况:找出对应的陷阱、为什么匹配、该怎么做;不是社群运营问题时直说(退出码 3)。"""
    from service.cli_render import render_diagnose
    from service.models import DiagnoseRequest, DiagnoseResponse

    def op(ops: Operations) -> DiagnoseResponse:
        return ops.diagnose(DiagnoseRequest(situation=situation, pitfalls_only=pitfalls_only, **_given(k=k)))

    resp = _run(url, api_key, op, json)
    if json:
        return _print_json(resp)
    con = _console()
    if not resp.answered:
        con.print(resp.message or "没有找到匹配的陷阱。")
        _say_request_id(resp.request_id)
        raise typer.Exit(3)
    render_diagnose(con, resp, full)
    _say_request_id(resp.request_id)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="搜索词")],
    type: Annotated[
        list[str] | None, typer.Option("--type", help="只保留这种类型(可重复,见 kb types)")
    ] = None,
    doc: Annotated[
        list[str] | None, typer.Option("--doc", help="只保留这篇文章(编号或文件名,可重复)")
    ] = None,
    k: Annotated[int | None, _k_option("SearchRequest", "最多返回几条")] = None,
    min_relevance: Annotated[
        float | None,
        typer.Option("--min-relevance", help="去掉相关度低于此值的结果(0..1,0.5 表示一半可能相关)"),
    ] = None,
    full: FullOpt = False,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """混合检索原则(关键词 + 语义)。"""
    from service.cli_render import render_search
    from service.models import SearchRequest, SearchResponse

    def op(ops: Operations) -> SearchResponse:
        return ops.search(
            SearchRequest(
                query=query, types=type or None, docs=doc or None, **_given(k=k, min_relevance=min_relevance)
            )
        )

    resp = _run(url, api_key, op, json)
    if json:
        return _print_json(resp)
    render_search(_console(), resp, full)
    _say_request_id(resp.request_id)


@app.command()
def show(
    principle_id: Annotated[str, typer.Argument(help="原则的 id,例如 kb search 结果里的 id")],
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """显示一条原则的全部内容和原文出处。"""
    from service.cli_render import render_principle

    p = _run(url, api_key, lambda ops: ops.get(principle_id), json)
    if json:
        return _print_json(p)
    render_principle(_console(), p)


@app.command()
def types(json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """列出原则的类型。"""
    resp = _run(url, api_key, lambda ops: ops.types(), json)
    if json:
        return _print_json(resp)
    for t in resp.types:
        _echo(f"{t.name:18s} {t.label}  {t.description}")


@app.command()
def build(
    if_stale: Annotated[bool, typer.Option("--if-stale", help="索引已是最新时什么都不做")] = False,
) -> None:
    """从 corpus/ 构建索引(原子操作:构建失败时旧索引保持不变)。"""
    from service.build.pipeline import build as build_index
    from service.errors import KBError
    from service.index import is_fresh
    from service.settings import get_settings

    settings = get_settings()
    if if_stale and is_fresh(settings.index_dir, settings.corpus_dir, settings.model):
        _echo(f"索引已是最新: {settings.index_dir}")
        return
    try:
        m = build_index(settings, progress=lambda msg: _echo(msg, err=True))
    except KBError as exc:
        _fail_kb(exc)
    _echo(
        f"built {settings.index_dir}: {m.principles} principles, {m.vectors} vectors, "
        f"model {m.model} ({m.dimension}-d), query encoder {'adapted' if m.query_model else 'base'}, "
        f"{'onnx int8' if m.encoder else 'torch only'}, "
        f"{m.build_seconds}s"
    )


@app.command()
def add(
    file: Annotated[
        str,
        typer.Argument(
            help="文章文件:UTF-8 文本(.txt)、Markdown(.md)、网页(.html,含公众号文章)、Word(.docx)或 PDF"
        ),
    ],
    title: Annotated[str | None, typer.Option("--title", help="文章标题(默认取文件里的标题或第一行)")] = None,
    force: Annotated[bool, typer.Option("--force", help="即使与已有文章近似重复也添加")] = False,
    json: JsonOpt = False,
) -> None:
    """添加文章:在 corpus/drafts/<文章>/ 里起草它的原则,等待审阅;接受之前不会发布,也不会被检索到。"""
    from pathlib import Path

    from service.curation.store import Limits, add_article, read_article_file
    from service.errors import KBError
    from service.settings import get_settings

    settings = get_settings()
    limits = Limits.of(settings)
    path = Path(file)
    try:
        data = read_article_file(path, limits.max_article_bytes)
        summary = add_article(
            settings.corpus_dir,
            data,
            path.name,
            title,
            force,
            lambda step: _echo(f"… {step}", err=True),
            limits,
        )
    except KBError as exc:
        _fail_kb(exc)
    if json:
        return _print_json(summary)
    if summary.kept:
        _echo(f"corpus/drafts/{summary.article}/draft.yaml 已被人工修改过:保持原样")
        return
    types = ", ".join(f"{n} {t}" for t, n in sorted(summary.by_type.items(), key=lambda x: -x[1]))
    _echo(f"已起草 corpus/drafts/{summary.article}/draft.yaml:《{summary.title}》(未发布)")
    _echo(f"  {summary.principles} 条原则({types});{summary.groups} 个列表;{summary.junk} 段无关内容")
    if summary.low_confidence:
        _echo(f"  把握不大(先检查): {', '.join(summary.low_confidence)}")
    if summary.dropped:
        _echo(f"  {summary.dropped} 段未收录:找不到唯一的引文")
    if summary.duplicates:
        _echo(f"  与这些文章近似重复,仍已添加: {', '.join(summary.duplicates)}")
    _echo(f"审阅后(见 corpus/CURATING.md)运行: kb accept {summary.article}")


@app.command()
def drafts(json: JsonOpt = False) -> None:
    """列出等待审阅的草稿(未发布)及其待查项。"""
    from service.curation.store import list_drafts
    from service.errors import KBError
    from service.settings import get_settings

    try:
        resp = list_drafts(get_settings().corpus_dir)
    except KBError as exc:
        _fail_kb(exc)
    if json:
        return _print_json(resp)
    if not resp.drafts:
        _echo("没有待审阅的草稿")
    for d in resp.drafts:
        state = "已修改" if d.edited else "未修改"
        status = f",发布中(任务 {d.job})" if d.status == "publishing" else ",未发布"
        problem = f"  {d.problem}" if d.problem else ""
        _echo(f"{d.article}  {d.principles} 条原则,{d.open_items} 项待查,{state}{status}{problem}")


@app.command()
def accept(
    article: Annotated[str, typer.Argument(help="文章名或编号(见 kb drafts)")],
    no_build: Annotated[bool, typer.Option("--no-build", help="只发布,稍后再运行 kb build")] = False,
) -> None:
    """检查草稿并发布到 corpus/raw 和 corpus/principles,然后(增量)重建索引。"""
    from service.build.pipeline import build as build_index
    from service.curation.store import Limits, accept_draft
    from service.errors import KBError
    from service.settings import get_settings

    settings = get_settings()
    try:
        info = accept_draft(settings.corpus_dir, article, limits=Limits.of(settings))
        _echo(f"已发布 corpus/principles/{info.article}.yaml({info.principles} 条原则)")
        if not no_build:
            m = build_index(settings, retrain=False)
            _echo(f"已构建 {settings.index_dir}:{m.principles} 条原则,用时 {m.build_seconds} 秒")
            _echo("运行中的服务器用 POST /admin/reload 或 kill -HUP 载入新索引")
    except KBError as exc:
        _fail_kb(exc)


@app.command()
def remove(
    article: Annotated[str, typer.Argument(help="文章名或编号")],
    no_build: Annotated[bool, typer.Option("--no-build", help="只移除,稍后再运行 kb build")] = False,
    json: JsonOpt = False,
) -> None:
    """移除一篇文章(已发布的或草稿):原文、原则、原始文件和草稿,连同它的原则的说法、其他原则指向它们的链接和
    提到它的标注请求,然后重建索引。无法自动修好的地方会先拒绝,什么都不改。"""
    from service.build.pipeline import build as build_index
    from service.curation.store import Limits, remove_article
    from service.errors import KBError
    from service.settings import get_settings

    settings = get_settings()
    try:
        report = remove_article(settings.corpus_dir, article, limits=Limits.of(settings))
        if json:
            _print_json(report)
        else:
            _echo("已移除 " + ", ".join(report.removed))
            for what, items in (
                ("链接", report.links),
                ("说法", report.phrasings),
                ("标注请求", report.labelled),
            ):
                if items:
                    _echo(f"  去掉了指向它的{what} {len(items)} 处: " + "; ".join(items))
        if not no_build:
            m = build_index(settings, retrain=False)
            _echo(f"已构建 {settings.index_dir}:{m.principles} 条原则,用时 {m.build_seconds} 秒", err=json)
    except KBError as exc:
        _fail_kb(exc)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 [KB_HOST,默认 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="端口 [KB_PORT,默认 8000]")] = None,
    workers: Annotated[int | None, typer.Option(help="进程数,共用一个端口 [KB_WORKERS,默认每核一个]")] = None,
) -> None:
    """启动 HTTP 服务:网页界面在 /,API 文档在 /docs。"""
    from service.errors import InputError, KBError, edge
    from service.settings import Settings, get_settings

    plain_logging()
    try:
        settings = get_settings()
        # --workers is checked like KB_WORKERS, by the setting's own bounds
        settings = Settings.model_validate({**settings.model_dump(), **_given(workers=workers)})
    except ValidationError as exc:
        problems = "; ".join(f"KB_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        _fail(problems, edge(InputError.code).exit)
    host, port, workers = host or settings.host, port or settings.port, settings.workers
    try:
        from service.curation.jobs import recover_jobs

        # a publish killed half-way is undone first (once, before any worker): the index serves the corpus
        recover_jobs(settings)
        if workers > 1:
            started = _serve_workers(settings, host, port, workers)
        else:
            started = _serve_one(settings, host, port)
    except KBError as exc:
        _fail_kb(exc)
    if not started:  # uvicorn logged why (the address in use, …)
        _fail(f"无法在 {host}:{port} 上启动服务(见上面的日志,常见原因是端口已被占用)")


def _serve_one(settings: Settings, host: str, port: int) -> bool:
    """One process: the index loaded here, SIGHUP reloads it."""
    import uvicorn

    from service.api import create_app
    from service.api.server import short_gil_turns, single_threaded_blas, uvicorn_config
    from service.kb import KnowledgeBase

    # migrations are applied here, before the first request: a broken database stops the start
    query_log = _open_query_log(settings, strict=True)
    kb = KnowledgeBase.load(settings, query_log=query_log)
    kb.warm_up()
    single_threaded_blas()
    short_gil_turns()
    app = create_app(settings, kb)
    _reload_on_sighup(app)
    server = uvicorn.Server(uvicorn_config(app, settings, host, port))
    server.run()
    if query_log is not None:
        query_log.close()
    return bool(server.started)


def _serve_workers(settings: Settings, host: str, port: int, workers: int) -> bool:
    """Several processes (service/api/workers.py): each loads the index itself; this one only checks
    it first, so that a missing or bad index is one error line, not N tracebacks."""
    from service.api.server import uvicorn_options
    from service.api.workers import run_workers
    from service.index import check_index

    check_index(settings.index_dir, settings.corpus_dir, settings.model)
    # migrations applied once, here, before any worker opens the query log: a broken database stops the start
    query_log = _open_query_log(settings, strict=True)
    if query_log is not None:
        query_log.close()
    return run_workers(settings, host, port, workers, uvicorn_options(settings))


def _reload_on_sighup(app: FastAPI) -> None:
    """`kill -HUP <pid>` after `kb build` swaps the new index in; a bad one is logged and the old stays."""
    import signal
    import threading

    from service.api import reload_here
    from service.errors import KBError

    log = logging.getLogger("kb")

    def reload() -> None:
        try:
            m = reload_here(app)
            log.warning("reloaded index built at %s (%d principles)", m.built_at, m.principles)
        except KBError as exc:
            log.error("reload failed, still serving the previous index: %s", exc.message)

    signal.signal(signal.SIGHUP, lambda signum, frame: threading.Thread(target=reload, daemon=True).start())


@app.command()
def mcp() -> None:
    """通过 stdio 提供 MCP 工具(供桌面助手和 IDE 使用)。"""
    from service.errors import KBError
    from service.kb import KnowledgeBase
    from service.settings import get_settings

    plain_logging()
    from service.mcp_server import run_stdio

    settings = get_settings()
    query_log = _open_query_log(settings, strict=True)
    try:
        kb = KnowledgeBase.load(settings, query_log=query_log)
    except KBError as exc:
        _fail_kb(exc)
    try:
        run_stdio(kb)
    finally:
        if query_log is not None:
            query_log.close()


db_app = typer.Typer(
    help="查询记录数据库:迁移与版本(KB_DATABASE_URL,默认 KB_DATA_DIR/kb.sqlite3)。", no_args_is_help=True
)
app.add_typer(db_app, name="db")


def _engine() -> Any:
    from service.errors import KBError
    from service.settings import get_settings
    from service.store.db import make_engine

    try:
        return make_engine(get_settings().db_url())
    except KBError as exc:
        _fail_kb(exc)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库迁移到最新版本(kb serve 启动时也会自动执行)。"""
    from service.errors import KBError
    from service.store.db import upgrade

    engine = _engine()
    try:
        typer.echo(f"{engine.url.render_as_string(hide_password=True)}: at {upgrade(engine)}")
    except KBError as exc:
        _fail_kb(exc)


@db_app.command("current")
def db_current() -> None:
    """显示数据库当前的迁移版本和最新版本。"""
    from service.errors import KBError
    from service.store.db import current_revision, head_revision

    engine = _engine()
    try:
        current = current_revision(engine)
    except KBError as exc:
        _fail_kb(exc)
    head = head_revision()
    state = "up to date" if current == head else "run `kb db upgrade`"
    typer.echo(
        f"{engine.url.render_as_string(hide_password=True)}: at {current or 'nothing'}, head {head} ({state})"
    )


@app.command()
def feedback(
    request_id: Annotated[str, typer.Argument(help="被评价的回答的 request id(回答里的 request_id)")],
    rating: Annotated[str, typer.Argument(help="up(有用)或 down(没用)")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="down 的原因: wrong, incomplete, not_covered, other")
    ] = None,
    principle: Annotated[
        list[str] | None, typer.Option("--principle", help="应该出现的原则 id(可重复)")
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="一句话说明")] = None,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """评价一次回答(up/down);同一个回答再评价一次会覆盖上一次。"""
    from service.store.models import FeedbackRequest

    def op(ops: Operations) -> Any:
        req = FeedbackRequest.model_validate(
            {"request_id": request_id, "rating": rating, "reason": reason, "principle_ids": principle or [],
             "comment": comment}
        )  # fmt: skip
        return ops.feedback(req)

    receipt = _run(url, api_key, op, json)
    if json:
        return _print_json(receipt)
    typer.echo(f"{'已更新' if receipt.updated else '已记录'}: {receipt.request_id} {receipt.rating}")


log_app = typer.Typer(
    help="查询记录(给编辑看):没答上的问题、被点踩的回答、每条原则的命中,以及把问题变成语料的操作。"
    "直接读本机的数据库;远程请用 /admin/log 接口。",
    no_args_is_help=True,
)
app.add_typer(log_app, name="log")

SinceOpt = Annotated[str | None, typer.Option("--since", help="从这个时间起(ISO 8601,如 2026-12-01)")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="到这个时间前")]
OpOpt = Annotated[str | None, typer.Option("--operation", help="search, ask 或 diagnose")]
SurfaceOpt = Annotated[str | None, typer.Option("--surface", help="http, mcp, cli 或 tools")]
KeyNameOpt = Annotated[str | None, typer.Option("--key-name", help="调用方密钥的名字")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="最多几条")]


def _filter(**given: Any) -> Any:
    from service.store.models import LogFilter

    return LogFilter.model_validate(_given(**given))


def _learning(op: Callable[[Any], T], as_json: bool = False) -> T:
    """A curator's command on this machine's query log, through the core like every other edge. The
    index may be older than the corpus: the actions change the corpus, and the next must not wait for a
    rebuild (views read the index only for titles and the encoder)."""
    return _run(None, None, lambda ops: op(getattr(ops, "learning")), as_json, stale_ok=True)  # noqa: B009


@log_app.command("misses")
def log_misses(
    since: SinceOpt = None, until: UntilOpt = None, operation: OpOpt = None, surface: SurfaceOpt = None,
    key_name: KeyNameOpt = None, limit: LimitOpt = None, json: JsonOpt = False,
) -> None:  # fmt: skip
    """没答上或把握不大的问题,按相似度归成簇,最新的在前。"""
    flt = dict(since=since, until=until, operation=operation, surface=surface, key_name=key_name, limit=limit)
    resp = _learning(lambda lr: lr.misses(_filter(**flt)), json)
    if json:
        return _print_json(resp)
    typer.echo(f"{resp.events} 个问题,{len(resp.clusters)} 簇")
    for c in resp.clusters:
        top = f" → {c.top_principle}" if c.top_principle else ""
        typer.echo(f"[{c.count}] {c.last_at:%Y-%m-%d %H:%M} {'/'.join(c.operations)}{top}")
        for text, rid in zip(c.texts, c.request_ids, strict=False):
            typer.echo(f"    {rid}  {text[:80]}")


@log_app.command("disliked")
def log_disliked(
    since: SinceOpt = None, until: UntilOpt = None, operation: OpOpt = None, surface: SurfaceOpt = None,
    key_name: KeyNameOpt = None, limit: LimitOpt = None, json: JsonOpt = False,
) -> None:  # fmt: skip
    """被点踩的回答,按排第一的原则归类。"""
    flt = _filter(
        since=since, until=until, operation=operation, surface=surface, key_name=key_name, limit=limit
    )
    resp = _learning(lambda lr: lr.disliked(flt), json)
    if json:
        return _print_json(resp)
    for d in resp.principles:
        wanted = ", ".join(f"{p}×{n}" for p, n in d.wanted.items())
        typer.echo(
            f"{d.principle_id}  👎{d.downs} 👍{d.ups}  {d.title}" + (f"  应为: {wanted}" if wanted else "")
        )
        for q in d.questions:
            typer.echo(f"    {q[:80]}")


@log_app.command("hits")
def log_hits(
    since: SinceOpt = None, until: UntilOpt = None, operation: OpOpt = None, surface: SurfaceOpt = None,
    key_name: KeyNameOpt = None, limit: LimitOpt = None, json: JsonOpt = False,
) -> None:  # fmt: skip
    """每条原则进入前三的次数,以及命中它的问题。"""
    flt = _filter(
        since=since, until=until, operation=operation, surface=surface, key_name=key_name, limit=limit
    )
    resp = _learning(lambda lr: lr.principle_hits(flt), json)
    if json:
        return _print_json(resp)
    for p in resp.principles:
        typer.echo(f"{p.hits:5d} {p.first:5d}  {p.principle_id}  {p.title}")
        for q in p.questions:
            typer.echo(f"            {q[:80]}")


@log_app.command("export")
def log_export(
    format: Annotated[str, typer.Option("--format", help="jsonl 或 csv")] = "jsonl",
    since: SinceOpt = None, until: UntilOpt = None, operation: OpOpt = None, surface: SurfaceOpt = None,
    key_name: KeyNameOpt = None,
    max_events: Annotated[int, typer.Option("--max-events", help="最多导出几条")] = 10_000,
) -> None:  # fmt: skip
    """把记录(含评价)导出为 JSON lines 或 CSV,写到标准输出。"""
    from service.store.querylog import to_csv, to_jsonl

    if format not in ("jsonl", "csv"):
        _fail(f"--format: expected jsonl or csv, got {format!r}", 2)
    flt = dict(since=since, until=until, operation=operation, surface=surface, key_name=key_name)
    events = _learning(lambda lr: lr.events(_filter(**flt), max_events))
    sys.stdout.write(to_csv(events) if format == "csv" else to_jsonl(events))


@log_app.command("phrasing")
def log_phrasing(
    request_id: Annotated[str, typer.Argument(help="记录里的 request id")],
    principle_id: Annotated[str, typer.Argument(help="这个问题应该命中的原则 id")],
    json: JsonOpt = False,
) -> None:
    """把记录里的问题加为某条原则的一种说法(写入 corpus/phrasings/log.yaml;kb build 后生效)。"""
    from service.store.models import PhrasingRequest

    resp = _learning(
        lambda lr: lr.add_phrasing(PhrasingRequest(request_id=request_id, principle_id=principle_id)), json
    )
    if json:
        return _print_json(resp)
    typer.echo(
        f"{'已加入' if resp.added else '已有这条说法'} {resp.file}: {resp.principle_id} ← {resp.text[:60]}"
    )


@log_app.command("scope")
def log_scope(
    request_id: Annotated[str, typer.Argument(help="记录里的 request id")],
    scope: Annotated[str, typer.Argument(help="in(知识库该回答)或 out(不该回答)")],
    json: JsonOpt = False,
) -> None:
    """把记录里的问题标为该答 / 不该答,供把握度模型学习(写入 corpus/calibration/log.jsonl)。"""
    from service.store.models import ScopeRequest

    if scope not in ("in", "out"):
        _fail(f"scope: expected in or out, got {scope!r}", 2)
    resp = _learning(
        lambda lr: lr.label_scope(ScopeRequest(request_id=request_id, in_scope=scope == "in")), json
    )
    if json:
        return _print_json(resp)
    typer.echo(f"已标注 {resp.file}: {resp.id} {'in' if resp.in_scope else 'out'} {resp.text[:60]}")


@log_app.command("gap")
def log_gap(
    request_id: Annotated[str, typer.Argument(help="记录里的 request id")],
    note: Annotated[str | None, typer.Option("--note", help="缺的是什么主题")] = None,
    json: JsonOpt = False,
) -> None:
    """把记录里的问题记为缺口:用户在问、但没有文章覆盖的主题。"""
    from service.store.models import GapRequest

    resp = _learning(lambda lr: lr.add_gap(GapRequest(request_id=request_id, note=note)), json)
    if json:
        return _print_json(resp)
    typer.echo(f"已记为缺口 #{resp.id}: {resp.text[:60]}")


@log_app.command("gaps")
def log_gaps(json: JsonOpt = False) -> None:
    """列出记下的缺口,最新的在前。"""
    resp = _learning(lambda lr: lr.gaps(), json)
    if json:
        return _print_json(resp)
    for g in resp.gaps:
        typer.echo(f"#{g.id} {g.at:%Y-%m-%d}  {g.text[:60]}" + (f"  ({g.note})" if g.note else ""))


def plain_logging() -> None:
    # plain one-line records on stderr (the access log is JSON), configured before the MCP SDK is imported:
    # it would otherwise install rich's multi-line handler
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("kb").setLevel(logging.INFO)


def main() -> None:
    try:
        app()
    except Exception as exc:  # a bug of ours: still one line, like every other error, never a traceback
        _echo(f"error: unexpected {exc.__class__.__name__}: {exc}", err=True)
        sys.exit(1)
