"""How the terminal shows responses: short by default (the brief, the points, one line per citation:
one screen for a normal question), everything with --full. Only rendering: what is said and in which
order comes from the core's response models."""

from __future__ import annotations

import re
from typing import Any

from service.answer import advice_label
from service.hits import short_quote
from service.models import AskResponse, DiagnoseHit, DiagnoseResponse, Hit, Principle, SearchResponse
from service.normalize import readable_text

__all__ = ["printable", "render_ask", "render_diagnose", "render_principle", "render_search", "safe_console"]

# what a terminal acts on instead of showing: C0 (but tab and line feed), DEL, C1, and the bidirectional
# overrides and isolates that reorder the rest of a line (curated text, a file name, a server's answer)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` safe for a terminal whatever its source: each control character shown as its escape."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def safe_console(**options: Any) -> Any:
    """A rich Console whose every printed string goes through `printable` (markup is ours, not escaped)."""
    from rich.console import Console

    class _SafeConsole(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)

    return _SafeConsole(**options)


# a citation line's readable text, in characters
SHORT_QUOTE = 36
FULL_QUOTE = 120


def _where(hit: Hit | Principle, limit: int) -> str:
    s = hit.source
    return f"《{s.title}》{s.start}-{s.end}「{short_quote(s.quote, limit)}」"


def _advice(con: Any, hit: Hit | Principle, indent: str = "    ") -> None:
    if not hit.advice:
        return
    label = advice_label(hit)
    color = "green" if hit.advice_source == "article" else "magenta"
    con.print(f"{indent}[{color}]{label}:[/{color}] {hit.advice}")


def _cite_line(con: Any, n: int, hit: Hit) -> None:
    con.print(f"[dim][{n}] {hit.title} — {_where(hit, SHORT_QUOTE)}[/dim]")


def _full_hit(con: Any, n: int, hit: Hit, extra: str = "") -> None:
    score = f"得分 {hit.score:.3f}"
    if hit.relevance is not None:
        score += f" · 相关度 {hit.relevance:.2f}"
    role = {"lead": "首要", "member": "列表项", "linked": "关联", "context": "相关"}[hit.role]
    con.print(f"[bold][{n}] {hit.title}[/bold]  [dim]{hit.type} · {hit.id} · {role} · {score}[/dim]")
    con.print(f"    {hit.summary}")
    _advice(con, hit)
    if hit.advice_citation is not None:
        a = hit.advice_citation
        con.print(f"    [dim]建议出处: {a.start}-{a.end}「{short_quote(a.quote, FULL_QUOTE)}」[/dim]")
    if hit.missing:
        con.print(f"    [yellow]注:[/yellow] {hit.missing}")
    if extra:
        con.print(f"    {extra}")
    con.print(f"    [dim]出处: {_where(hit, FULL_QUOTE)}[/dim]")


def render_ask(con: Any, resp: AskResponse, full: bool) -> None:
    con.print(resp.answer)
    if not resp.hits:
        return
    con.print()
    if not full:
        con.print("[dim]出处:[/dim]")
    for n, hit in enumerate(resp.hits, 1):
        if full:
            _full_hit(con, n, hit)
        else:
            _cite_line(con, n, hit)


def render_diagnose(con: Any, resp: DiagnoseResponse, full: bool) -> None:
    if resp.reading:
        con.print(f"[bold]{resp.reading}[/bold]\n")
    if not resp.hits:
        con.print("没有找到匹配的陷阱。")
    for n, hit in enumerate(resp.hits, 1):
        if full:
            _full_hit(con, n, hit, _diagnose_extra(hit))
            continue
        words = "、".join(f"「{m.text}」" for m in hit.matched)
        via = f"  [yellow]匹配 {words}[/yellow]" if words else f"  [cyan]{hit.why}[/cyan]"
        con.print(f"[bold][{n}] {hit.title}[/bold]{via}")
        _advice(con, hit)
        con.print(f"    [dim]出处: {_where(hit, SHORT_QUOTE)}[/dim]")


def _diagnose_extra(hit: DiagnoseHit) -> str:
    words = "、".join(f"「{m.text}」" for m in hit.matched) or "(整体描述)"
    extra = (
        f"[cyan]↳ {hit.why}[/cyan]"
        if hit.linked_from and not hit.matched
        else f"[yellow]匹配:[/yellow] {words} — {hit.why}"
    )
    if hit.fixed_by:
        extra += "\n    [green]对应做法:[/green] " + ";".join(f.title for f in hit.fixed_by)
    if hit.related:
        extra += "\n    [dim]相关:[/dim] " + ";".join(f.title for f in hit.related)
    return extra


def render_search(con: Any, resp: SearchResponse, full: bool) -> None:
    if not resp.hits:
        con.print("没有结果。")
    for n, hit in enumerate(resp.hits, 1):
        if full:
            _full_hit(con, n, hit)
            continue
        rel = f" · 相关度 {hit.relevance:.2f}" if hit.relevance is not None else ""
        con.print(f"[bold][{n}] {hit.title}[/bold]  [dim]{hit.type}{rel}[/dim]")
        con.print(f"    [dim]{_where(hit, SHORT_QUOTE)}[/dim]")


def render_principle(con: Any, p: Principle) -> None:
    con.print(f"[bold]{p.title}[/bold]  [dim]{p.type} · {p.id}[/dim]")
    con.print(p.summary)
    _advice(con, p, indent="")
    if p.advice_citation is not None:
        a = p.advice_citation
        con.print(f"[dim]建议出处: {a.start}-{a.end}「{short_quote(a.quote, FULL_QUOTE)}」[/dim]")
    if p.missing:
        con.print(f"[yellow]注:[/yellow] {p.missing}")
    for label, items in (("常见表现", p.symptoms), ("能回答的问题", p.questions)):
        if items:
            con.print(f"[yellow]{label}:[/yellow]")
            for item in items:
                con.print(f"  - {item}")
    for label, ids in (("相关", p.related), ("对应做法", p.fixed_by)):
        if ids:
            con.print(f"[dim]{label}: {', '.join(ids)}[/dim]")
    con.print(f"\n[dim]出处: {p.source.title} ({p.source.doc} {p.source.start}-{p.source.end})[/dim]")
    con.print(readable_text(p.source.quote).strip())  # whole, its paragraphs kept
