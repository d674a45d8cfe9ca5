"""Web pages. A saved WeChat article (its body in #js_content) is read by its known layout
(service/ingest/formats/wechat.py); any other page goes through trafilatura, a maintained extractor of
a page's main text and metadata. Both walk the page into blocks: headings, paragraphs, list items
(numbered 1、 2、 …), table cells, each with the path of its element in the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from service.errors import InputError
from service.ingest.formats.blocks import TextBuilder, tidy
from service.ingest.formats.markdown import HAS_MARKER, list_marker
from service.source_models import Block, BlockKind

__all__ = ["NO_ARTICLE", "Page", "PageWalker", "read_page"]

NO_ARTICLE = (
    "no article text found in this page (a list, a login page, or text that a script loads later): "
    "open it in a browser, copy the article's text into a .txt file and add that"
)
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "h1", "h2", "h3", "h4",
     "h5", "h6", "li", "ul", "ol", "blockquote", "pre", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
     "figure", "figcaption", "dl", "dt", "dd", "hr", "form", "center", "address", "details", "summary"}
)  # fmt: skip
# never text of the article: code, media (an image's alt is noise), form controls, WeChat's embeds
_SKIP_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "iframe", "img", "picture", "video", "audio", "canvas",
     "head", "title", "button", "input", "select", "textarea", "object", "embed", "map", "mpvoice",
     "mpprofile", "mp-common-profile", "mp-miniprogram", "qqmusic", "mp-common-videosnap", "mp-style-type"}
)  # fmt: skip
_HIDDEN = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(px|pt|em|rem)?\s*(;|$)", re.I
)
_SENTENCE_END = re.compile(r"[。！？!?；;，,：:]$")


def hidden(node: LexborNode) -> bool:
    attrs = node.attributes
    return "hidden" in attrs or bool(_HIDDEN.search(attrs.get("style") or ""))


@dataclass
class _Ctx:
    path: str
    kind: BlockKind = "paragraph"
    level: int | None = None
    table: int | None = None
    row: int | None = None
    cell: int | None = None


@dataclass
class Page:
    text: str
    blocks: list[Block]
    title: str | None = None
    author: str | None = None
    account: str | None = None
    published: str | None = None
    extractor: str = ""


class PageWalker:
    """Walks an element's descendants in reading order: block elements end a line, `<br>` breaks it,
    hidden elements, scripts, styles and images (their alt text is noise) are skipped. `drop` sees
    each finished block's text and may veto it (boilerplate)."""

    def __init__(self, out: TextBuilder, drop: Callable[[str], bool] = lambda _: False) -> None:
        self.out = out
        self.drop = drop
        self._buf: list[tuple[str, bool] | None] = []  # text and whether inside <strong>/<b>; None: <br>
        self._tables = 0
        self._rows: dict[int, int] = {}  # per table: rows so far
        self._cells: dict[int, int] = {}  # per table: cells so far in its current row
        self._lists: list[int] = []  # per open list: the next item's number
        self._marker = ""  # the open list item's number, for its first line

    def walk(self, node: LexborNode, path: str) -> None:
        self._walk(node, _Ctx(path), bold=False)
        self._flush(_Ctx(path))

    def _walk(self, node: LexborNode, ctx: _Ctx, bold: bool) -> None:
        seen: dict[str, int] = {}
        for child in node.iter(include_text=True):
            tag = child.tag or ""
            if child.is_text_node:
                self._buf.append((child.text_content or "", bold))
                continue
            if tag.startswith("-") or tag in _SKIP_TAGS or hidden(child):
                continue
            seen[tag] = seen.get(tag, 0) + 1
            if tag == "br":
                self._buf.append(None)
            elif tag in _BLOCK_TAGS:
                self._flush(ctx)
                inner = self._enter(child, ctx, f"{ctx.path}>{tag}[{seen[tag]}]")
                self._walk(child, inner, bold)
                self._flush(inner)
                if tag in ("ul", "ol"):
                    self._lists.pop()
                elif tag == "li":
                    self._marker = ""
            else:
                self._walk(child, ctx, bold or tag in ("strong", "b"))

    def _enter(self, node: LexborNode, ctx: _Ctx, path: str) -> _Ctx:
        tag = node.tag or ""
        inner = _Ctx(path, ctx.kind, ctx.level, ctx.table, ctx.row, ctx.cell)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            inner.kind, inner.level = "heading", int(tag[1])
        elif tag in ("ul", "ol"):
            start = node.attributes.get("start") or "1"
            self._lists.append(int(start) if start.isdigit() else 1)
        elif tag == "li" and self._lists:
            inner.kind, inner.level = "list_item", len(self._lists)
            self._marker = list_marker(len(self._lists), self._lists[-1])
            self._lists[-1] += 1
        elif tag == "table":
            self._tables += 1
            inner.table = self._tables
            self._rows[inner.table] = self._cells[inner.table] = 0
        elif tag == "tr" and ctx.table is not None:
            self._rows[ctx.table] += 1
            self._cells[ctx.table] = 0
            inner.row = self._rows[ctx.table]
        elif tag in ("td", "th") and ctx.table is not None:
            self._cells[ctx.table] += 1
            inner.kind, inner.cell = "table_cell", self._cells[ctx.table]
        elif tag == "pre":
            inner.kind = "code"
        elif tag == "blockquote":
            inner.kind = "quote"
        return inner

    def _flush(self, ctx: _Ctx) -> None:
        if not self._buf:
            return
        pieces, self._buf = self._buf, []
        if ctx.kind == "code":
            lines = [("\n".join("" if p is None else p[0] for p in pieces), False)]
        else:
            lines, run = [], []
            for piece in [*pieces, None]:
                if piece is not None:
                    run.append(piece)
                    continue
                words = tidy("".join(t for t, _ in run))
                lines.append((words, all(b for t, b in run if t.strip())))
                run = []
        for line, bold in lines:
            text = tidy(line, keep_breaks=True) if ctx.kind == "code" else line
            if not text or self.drop(text):
                continue
            kind, level = ctx.kind, ctx.level
            # WeChat editors make section titles as a short bold paragraph, not an <h2>
            if kind == "paragraph" and bold and len(text) <= 40 and not _SENTENCE_END.search(text):
                kind, level = "heading", 2
            if kind == "list_item" and self._marker and not HAS_MARKER.match(text):
                text = self._marker + text
            self._marker = "" if kind == "list_item" else self._marker
            where: dict[str, Any] = {"path": ctx.path, "level": level}
            if ctx.kind == "table_cell":
                where |= {"table": ctx.table, "row": ctx.row, "cell": ctx.cell}
            self.out.add(text, kind, **where)


def _element_paths(tree: LexborHTMLParser) -> dict[str, str]:
    """Each block element's text (whitespace removed) → its path, the first one for repeated text."""
    paths: dict[str, str] = {}
    body = tree.body
    if body is None:
        return paths

    def visit(node: LexborNode, path: str) -> None:
        seen: dict[str, int] = {}
        for child in node.iter(include_text=False):
            tag = child.tag or ""
            if tag.startswith("-") or tag in _SKIP_TAGS:
                continue
            seen[tag] = seen.get(tag, 0) + 1
            here = f"{path}>{tag}[{seen[tag]}]"
            if tag in _BLOCK_TAGS:
                key = re.sub(r"\s+", "", child.text(deep=True))
                if key and key not in paths:
                    paths[key] = here
            visit(child, here)

    visit(body, "body")
    return paths


def _lxml_text(el: Any) -> str:
    """An element of trafilatura's output as text; its <lb/> are line breaks."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else _lxml_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _generic(html: str, name: str) -> Page:
    import trafilatura
    from trafilatura.settings import Document

    doc = trafilatura.bare_extraction(
        html, with_metadata=True, include_tables=True, include_comments=False, include_images=False,
        include_formatting=False, include_links=False, deduplicate=False,
    )  # fmt: skip
    body = doc.body if isinstance(doc, Document) else None
    if not isinstance(doc, Document) or body is None or not "".join(body.itertext()).strip():
        raise InputError(f"{name}: {NO_ARTICLE}")
    tree = LexborHTMLParser(html)
    paths = _element_paths(tree)
    out = TextBuilder()
    title = tidy(doc.title or "") or None
    first = body[0] if len(body) else None
    if title and (first is None or tidy(_lxml_text(first)) != title):
        out.add(title, "heading", level=1, path=paths.get(re.sub(r"\s+", "", title)))
    tables = 0

    def add(text: str, kind: BlockKind, **where: Any) -> None:
        words = tidy(text)
        key = re.sub(r"\s+", "", words)
        out.add(words, kind, path=paths.get(key), **where)

    def visit_list(el: Any, depth: int) -> None:
        number = 1
        for item in el.iter("item"):
            if item.getparent() is not el:
                continue
            own = [c for c in item if c.tag != "list"]
            words = tidy((item.text or "") + "".join(_lxml_text(c) + (c.tail or "") for c in own))
            marked = words if HAS_MARKER.match(words) else list_marker(depth, number) + words
            if words:
                out.add(marked, "list_item", level=depth, path=paths.get(re.sub(r"\s+", "", words)))
            number += 1
            for sub in item.iterchildren("list"):
                visit_list(sub, depth + 1)

    for el in body:
        tag = el.tag
        if tag == "head":
            rend = el.get("rend") or "h2"
            level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
            add(_lxml_text(el), "heading", level=level)
        elif tag == "list":
            visit_list(el, 1)
        elif tag == "table":
            tables += 1
            for r, row in enumerate(el.iter("row"), start=1):
                for c, cell in enumerate(row.iter("cell"), start=1):
                    add(_lxml_text(cell), "table_cell", table=tables, row=r, cell=c)
        elif tag == "quote":
            add(_lxml_text(el), "quote")
        elif tag == "code":
            out.add(tidy(_lxml_text(el), keep_breaks=True), "code")
        elif tag != "graphic":
            for line in _lxml_text(el).split("\n"):
                add(line, "paragraph")
    if not out.text.strip():
        raise InputError(f"{name}: {NO_ARTICLE}")
    return Page(
        out.text,
        out.blocks,
        title=title,
        author=tidy(doc.author or "") or _meta(tree, "author"),
        published=doc.date or None,
        extractor=f"trafilatura {version('trafilatura')}",
    )


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    node = tree.css_first(f'meta[name="{name}"]') or tree.css_first(f'meta[property="{name}"]')
    return tidy(node.attributes.get("content") or "") or None if node is not None else None


def read_page(html: str, name: str) -> Page:
    """A page's article: the WeChat layout when it has one, any other page through trafilatura."""
    from service.ingest.formats import wechat

    tree = LexborHTMLParser(html)
    if tree.css_first("#js_content") is not None:
        return wechat.read_wechat(tree, name)
    return _generic(html, name)
