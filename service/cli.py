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
    from service.kb import KnowledgeBase
    from service.models import Hit, Principle, Source
    from service.operations import Operations

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    help="社群运营知识库: ask questions, diagnose situations and search cited principles on running WeChat "
    "communities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="print exactly the HTTP API's JSON")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="query a running server instead of loading the index here")
]
KeyOpt = Annotated[str | None, typer.Option("--api-key", envvar="KB_API_KEY", help="bearer key for --url")]


def _k_option(model: str, what: str) -> Any:
    """--k, its limits and default read from the request model (the one place they are set)."""
    from service import models

    info = getattr(models, model).model_fields["k"]
    lo, hi = (getattr(m, a) for m in info.metadata for a in ("ge", "le") if hasattr(m, a))
    return typer.Option("--k", help=f"{what} ({lo}-{hi}, default {info.default})")


def _given(**options: object) -> dict[str, Any]:
    """The options the user set: the others keep the request model's defaults."""
    return {k: v for k, v in options.items() if v is not None}


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _operations(url: str | None, api_key: str | None) -> Iterator[Operations]:
    """The in-process core or, with --url, a server through KBClient: the same calls either way."""
    if url:
        from service.client import KBClient

        with KBClient(url, api_key=api_key) as client:
            yield client
        return
    from service.kb import KnowledgeBase
    from service.settings import get_settings

    yield KnowledgeBase.load(get_settings())


def _run(url: str | None, api_key: str | None, op: Callable[[Operations], T]) -> T:
    """Run one operation; any error is one line on stderr and the exit code of its error code."""
    from service.client import KBClientError
    from service.errors import InputError, KBError, describe_validation, edge

    try:
        with _operations(url, api_key) as ops:
            return op(ops)
    except ValidationError as exc:  # a request model refused the options
        _fail(describe_validation(exc.errors()), edge(InputError.code).exit)
    except KBError as exc:
        _fail(exc.message, edge(exc.code).exit)
    except KBClientError as exc:
        _fail(exc.message, edge(exc.code, exc.status).exit)


def _print_json(model: BaseModel) -> None:
    # the HTTP API renders the same model with FastAPI's default JSON encoding
    sys.stdout.write(model.model_dump_json() + "\n")


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _snippet(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _readable(src: Source) -> str:
    """What a person reads of a citation: the normalised span (the raw quote stays in --json)."""
    from service.hits import cite
    from service.models import CitedSource

    return src.text if isinstance(src, CitedSource) else cite(src).text


def _render_hit(con: Any, n: int, hit: Hit | Principle, extra: str = "") -> None:
    src = hit.source
    score = f"  score {hit.score:.4f}" if hasattr(hit, "score") else ""
    if getattr(hit, "relevance", None) is not None:
        score += f"  relevance {getattr(hit, 'relevance', 0.0):.2f}"
    con.print(f"[bold][{n}] {hit.title}[/bold]  [dim]{hit.type} · {hit.id}{score}[/dim]")
    con.print(f"    {hit.summary}")
    if hit.advice:
        con.print(f"    [green]建议:[/green] {hit.advice}")
    if extra:
        con.print(f"    {extra}")
    quote = _snippet(_readable(src))
    con.print(f"    [dim]出处: {src.title} ({src.doc} {src.start}-{src.end}) 「{quote}」[/dim]")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="a question in Chinese, e.g. 社群定位分哪几步?")],
    k: Annotated[int | None, _k_option("AskRequest", "how many cited principles")] = None,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Answer a question from the knowledge base, with citations; says so when it cannot."""
    from service.models import AskRequest

    resp = _run(url, api_key, lambda ops: ops.ask(AskRequest(question=question, **_given(k=k))))
    if json:
        return _print_json(resp)
    con = _console()
    con.print(resp.answer)
    if resp.hits:
        con.print()
    for n, hit in enumerate(resp.hits, 1):
        _render_hit(con, n, hit)
    if not resp.answered:
        raise typer.Exit(3)


@app.command()
def diagnose(
    situation: Annotated[str, typer.Argument(help="what is going wrong, in your own words")],
    k: Annotated[int | None, _k_option("DiagnoseRequest", "how many results")] = None,
    pitfalls_only: Annotated[
        bool, typer.Option("--pitfalls-only", help="no linked practices or other articles' takes")
    ] = False,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Find the pitfalls behind a situation, why each matched, and what to do instead."""
    from service.models import DiagnoseRequest, DiagnoseResponse

    def op(ops: Operations) -> DiagnoseResponse:
        return ops.diagnose(DiagnoseRequest(situation=situation, pitfalls_only=pitfalls_only, **_given(k=k)))

    resp = _run(url, api_key, op)
    if json:
        return _print_json(resp)
    con = _console()
    if not resp.answered:
        con.print(resp.message or "没有找到匹配的陷阱。")
        raise typer.Exit(3)
    if not resp.hits:
        con.print("没有找到匹配的陷阱。")
    for n, hit in enumerate(resp.hits, 1):
        words = "、".join(f"「{m.text}」" for m in hit.matched) or "(整体描述)"
        fixes = ";".join(f.title for f in hit.fixes)
        if hit.linked_from and not hit.matched:
            extra = f"[cyan]↳ {hit.why}[/cyan]"
        else:
            extra = f"[yellow]匹配:[/yellow] {words} — {hit.why}"
        if fixes:
            extra += f"\n    [green]相关做法:[/green] {fixes}"
        _render_hit(con, n, hit, extra)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="search text")],
    type: Annotated[list[str] | None, typer.Option("--type", help="keep only this type (repeatable)")] = None,
    doc: Annotated[
        list[str] | None, typer.Option("--doc", help="keep only this raw file (repeatable)")
    ] = None,
    k: Annotated[int | None, _k_option("SearchRequest", "how many hits")] = None,
    min_relevance: Annotated[
        float | None,
        typer.Option("--min-relevance", help="drop hits below this relevance (0..1)"),
    ] = None,
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Hybrid search over principles."""
    from service.models import SearchRequest, SearchResponse

    def op(ops: Operations) -> SearchResponse:
        return ops.search(
            SearchRequest(
                query=query, types=type or None, docs=doc or None, **_given(k=k, min_relevance=min_relevance)
            )
        )

    resp = _run(url, api_key, op)
    if json:
        return _print_json(resp)
    con = _console()
    if not resp.hits:
        con.print("没有结果。")
    for n, hit in enumerate(resp.hits, 1):
        _render_hit(con, n, hit)


@app.command()
def show(
    principle_id: Annotated[str, typer.Argument(help="a principle id, e.g. from `kb search`")],
    json: JsonOpt = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
) -> None:
    """Show one principle in full, with its source passage."""
    p = _run(url, api_key, lambda ops: ops.get(principle_id))
    if json:
        return _print_json(p)
    con = _console()
    con.print(f"[bold]{p.title}[/bold]  [dim]{p.type} · {p.id}[/dim]")
    con.print(p.summary)
    if p.advice:
        con.print(f"[green]建议:[/green] {p.advice}")
    if p.symptoms:
        con.print("[yellow]常见表现:[/yellow]")
        for s in p.symptoms:
            con.print(f"  - {s}")
    if p.questions:
        con.print("[cyan]能回答的问题:[/cyan]")
        for q in p.questions:
            con.print(f"  - {q}")
    for label, ids in (("相关", p.related), ("对应做法", p.fixed_by)):
        if ids:
            con.print(f"[dim]{label}: {', '.join(ids)}[/dim]")
    con.print(f"\n[dim]出处: {p.source.title} ({p.source.doc} {p.source.start}-{p.source.end})[/dim]")
    con.print(_readable(p.source).strip())


@app.command()
def types(json: JsonOpt = False, url: UrlOpt = None, api_key: KeyOpt = None) -> None:
    """List the principle types."""
    resp = _run(url, api_key, lambda ops: ops.types())
    if json:
        return _print_json(resp)
    for t in resp.types:
        typer.echo(f"{t.name:18s} {t.label}  {t.description}")


@app.command()
def build(
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="do nothing when the index is current")
    ] = False,
) -> None:
    """Build the index from corpus/ (atomically: a failed build leaves the old index in place)."""
    from service.errors import KBError
    from service.index import is_fresh
    from service.kb import build as build_index
    from service.settings import get_settings

    settings = get_settings()
    if if_stale and is_fresh(settings.index_dir, settings.corpus_dir, settings.model):
        typer.echo(f"index is current: {settings.index_dir}")
        return
    try:
        m = build_index(settings, progress=lambda msg: typer.echo(msg, err=True))
    except KBError as exc:
        _fail(exc.message)
    typer.echo(
        f"built {settings.index_dir}: {m.principles} principles, {m.vectors} vectors, "
        f"model {m.model} ({m.dimension}-d), query encoder {'adapted' if m.query_model else 'base'}, "
        f"{'onnx int8' if m.encoder else 'torch only'}, "
        f"{m.build_seconds}s"
    )


@app.command()
def add(
    file: Annotated[str, typer.Argument(help="the article: a UTF-8 text file")],
    title: Annotated[
        str | None, typer.Option("--title", help="the article's title (else its first line)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="add a near-duplicate anyway")] = False,
    json: JsonOpt = False,
) -> None:
    """Add an article: copy it into corpus/raw and draft its principles into corpus/drafts for review."""
    from pathlib import Path

    from service.drafts import add_article
    from service.errors import KBError, edge
    from service.settings import get_settings

    path = Path(file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", 2)
    try:
        summary = add_article(
            get_settings().corpus_dir,
            data,
            path.name,
            title,
            force,
            lambda step: typer.echo(f"… {step}", err=True),
        )
    except KBError as exc:
        _fail(exc.message, edge(exc.code).exit)
    if json:
        return _print_json(summary)
    if summary.kept:
        typer.echo(f"corpus/drafts/{summary.article}.yaml was edited by a person: kept as it is")
        return
    types = ", ".join(f"{n} {t}" for t, n in sorted(summary.by_type.items(), key=lambda x: -x[1]))
    typer.echo(f"drafted corpus/drafts/{summary.article}.yaml: 《{summary.title}》")
    typer.echo(
        f"  {summary.principles} principles ({types}); {summary.groups} lists; {summary.junk} junk spans"
    )
    if summary.low_confidence:
        typer.echo(f"  low confidence (check first): {', '.join(summary.low_confidence)}")
    if summary.dropped:
        typer.echo(f"  {summary.dropped} passages left out: no unique quote")
    if summary.duplicates:
        typer.echo(f"  added despite near-duplicates: {', '.join(summary.duplicates)}")
    typer.echo(f"review it (corpus/CURATING.md), then: kb accept {summary.article}")


@app.command()
def drafts(json: JsonOpt = False) -> None:
    """List drafts waiting for review, with their open items."""
    from service.drafts import list_drafts
    from service.settings import get_settings

    resp = list_drafts(get_settings().corpus_dir)
    if json:
        return _print_json(resp)
    if not resp.drafts:
        typer.echo("no drafts")
    for d in resp.drafts:
        state = "edited" if d.edited else "untouched"
        problem = f"  {d.problem}" if d.problem else ""
        typer.echo(f"{d.article}  {d.principles} principles, {d.open_items} unchecked, {state}{problem}")


@app.command()
def accept(
    article: Annotated[str, typer.Argument(help="the article's name or number, as `kb drafts` lists it")],
    no_build: Annotated[bool, typer.Option("--no-build", help="publish only; run `kb build` later")] = False,
) -> None:
    """Check a draft and publish it into corpus/principles, then rebuild the index (incrementally)."""
    from service.drafts import accept_draft
    from service.errors import KBError, edge
    from service.kb import build as build_index
    from service.settings import get_settings

    settings = get_settings()
    try:
        info = accept_draft(settings.corpus_dir, article)
        typer.echo(f"published corpus/principles/{info.article}.yaml ({info.principles} principles)")
        if not no_build:
            m = build_index(settings, retrain=False)
            typer.echo(f"built {settings.index_dir}: {m.principles} principles in {m.build_seconds}s")
            typer.echo("a running server picks it up with POST /admin/reload or kill -HUP")
    except KBError as exc:
        _fail(exc.message, edge(exc.code).exit)


@app.command()
def remove(
    article: Annotated[str, typer.Argument(help="the article's name or number")],
    no_build: Annotated[bool, typer.Option("--no-build", help="remove only; run `kb build` later")] = False,
) -> None:
    """Take an article out: its raw file, its principles and its draft; then rebuild the index."""
    from service.drafts import remove_article
    from service.errors import KBError, edge
    from service.kb import build as build_index
    from service.settings import get_settings

    settings = get_settings()
    try:
        gone = remove_article(settings.corpus_dir, article)
        typer.echo("removed " + ", ".join(gone))
        if not no_build:
            m = build_index(settings, retrain=False)
            typer.echo(f"built {settings.index_dir}: {m.principles} principles in {m.build_seconds}s")
    except KBError as exc:
        _fail(exc.message, edge(exc.code).exit)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [KB_HOST, default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [KB_PORT, default 8000]")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from service.api import create_app
    from service.errors import KBError
    from service.kb import KnowledgeBase
    from service.server import uvicorn_config
    from service.settings import get_settings

    _plain_logging()
    settings = get_settings()
    try:
        kb = KnowledgeBase.load(settings)
        kb.warm_up()
    except KBError as exc:
        _fail(exc.message)
    _reload_on_sighup(kb)
    server = uvicorn.Server(uvicorn_config(create_app(settings, kb), settings, host, port))
    server.run()
    if not server.started:  # uvicorn logged why (the address in use, …)
        _fail(f"could not serve on {host or settings.host}:{port or settings.port}")


def _reload_on_sighup(kb: KnowledgeBase) -> None:
    """`kill -HUP <pid>` after `kb build` swaps the new index in; a bad one is logged and the old stays."""
    import signal
    import threading

    from service.errors import KBError

    log = logging.getLogger("kb")

    def reload() -> None:
        try:
            m = kb.reload()
            log.warning("reloaded index built at %s (%d principles)", m.built_at, m.principles)
        except KBError as exc:
            log.error("reload failed, still serving the previous index: %s", exc.message)

    signal.signal(signal.SIGHUP, lambda signum, frame: threading.Thread(target=reload, daemon=True).start())


@app.command()
def mcp() -> None:
    """Serve the chat-assistant tools over MCP on stdio (for desktop assistants and IDEs)."""
    from service.errors import KBError
    from service.kb import KnowledgeBase
    from service.settings import get_settings

    _plain_logging()
    from service.mcp_server import run_stdio

    try:
        kb = KnowledgeBase.load(get_settings())
    except KBError as exc:
        _fail(exc.message)
    run_stdio(kb)


def _plain_logging() -> None:
    # plain one-line records on stderr (the access log is JSON), configured before the MCP SDK is imported:
    # it would otherwise install rich's multi-line handler
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("kb").setLevel(logging.INFO)


def main() -> None:
    try:
        app()
    except Exception as exc:  # a bug of ours: still one line, like every other error, never a traceback
        typer.echo(f"error: unexpected {exc.__class__.__name__}: {exc}", err=True)
        sys.exit(1)
