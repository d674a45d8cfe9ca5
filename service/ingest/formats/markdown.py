"""Markdown notes, read with markdown-it-py: headings and list items on lines of their own (items
numbered 1、 2、 … so the list finder sees them), emphasis, links and images' markup dropped, code kept
as text, tables cell by cell; a YAML front matter's title, author and date taken as metadata."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from service.ingest.formats.blocks import TextBuilder, join_lines, tidy
from service.source_models import Block, BlockKind

__all__ = ["HAS_MARKER", "list_marker", "read_markdown"]

_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n(---|\.\.\.)[ \t]*(\n|\Z)", re.S)
# a line that already starts with a list marker of the kinds the list finder knows
HAS_MARKER = re.compile(
    r"^([1-9]\d?[、.．)）]|[一二三四五六七八九十]{1,3}[、.．]|[(（]([1-9]\d?|[一二三四五六七八九十]{1,3})[)）]"
    r"|[①②③④⑤⑥⑦⑧⑨⑩]|第[一二三四五六七八九十\d]{1,3}[步点条个])"
)
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
# a soft line break after these ends a sentence: the author's line is kept
_ENDS_LINE = re.compile(r"[。！？!?；;：:…”」』)）]$")


def list_marker(depth: int, number: int) -> str:
    """The marker a list item gets in the extracted text, by nesting depth: 1、 then (1) then ①."""
    if depth <= 1:
        return f"{number}、"
    if depth == 2:
        return f"({number})"
    return _CIRCLED[number - 1] if 1 <= number <= len(_CIRCLED) else f"{number})"


def _inline(token: Token) -> str:
    """An inline token's text: markup dropped, code kept, images dropped (their alt is noise)."""
    pieces: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            pieces.append(child.content)
        elif child.type == "softbreak":
            pieces.append("\n" if pieces and _ENDS_LINE.search(pieces[-1]) else "\x00")
        elif child.type == "hardbreak":
            pieces.append("\n")
    out = ""
    for piece in "".join(pieces).split("\x00"):
        out = join_lines(out.rstrip(), piece.lstrip()) if out else piece
    return tidy(out, keep_breaks=True)


def _front_matter(text: str) -> tuple[str, dict[str, Any]]:
    """The text with its front matter blanked (line numbers kept), and the front matter's fields."""
    m = _FRONT.match(text)
    if m is None:
        return text, {}
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return text, {}
    if not isinstance(meta, dict):
        return text, {}
    return "\n" * m.group(0).count("\n") + text[m.end() :], meta


def _meta_str(meta: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def read_markdown(text: str) -> tuple[str, list[Block], dict[str, str | None]]:
    """The extracted text, its blocks, and title/author/published when the notes say them."""
    body, meta = _front_matter(text)
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(body)
    out = TextBuilder()
    lists: list[list[int]] = []  # per open list: the next item's number
    item_open = False  # the next paragraph is a list item's first
    quote = 0
    table = row = cell = 0
    first_heading: str | None = None
    for i, tok in enumerate(tokens):
        line = tok.map[0] + 1 if tok.map else None
        kind: BlockKind
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            start = tok.attrGet("start")
            lists.append([int(start) if isinstance(start, int | str) and str(start).isdigit() else 1])
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif tok.type == "list_item_open":
            item_open = True
        elif tok.type == "blockquote_open":
            quote += 1
        elif tok.type == "blockquote_close":
            quote -= 1
        elif tok.type == "heading_open":
            words = _inline(tokens[i + 1]).replace("\n", " ")
            out.add(words, "heading", level=int(tok.tag[1]), line=line)
            first_heading = first_heading or words
        elif tok.type == "paragraph_open":
            words = _inline(tokens[i + 1])
            kind = "quote" if quote else "paragraph"
            if item_open and lists:
                kind = "list_item"
                number = lists[-1][0]
                lists[-1][0] += 1
                if words and not HAS_MARKER.match(words):
                    words = list_marker(len(lists), number) + words
                item_open = False
            out.add(words, kind, level=len(lists) if kind == "list_item" else None, line=line)
        elif tok.type in ("fence", "code_block"):
            out.add(tidy(tok.content, keep_breaks=True), "code", line=line)
        elif tok.type == "table_open":
            table, row = table + 1, 0
        elif tok.type == "tr_open":
            row, cell = row + 1, 0
        elif tok.type in ("th_open", "td_open"):
            cell += 1
            out.add(_inline(tokens[i + 1]), "table_cell", table=table, row=row, cell=cell, line=line)
        elif tok.type == "html_block":
            from selectolax.lexbor import LexborHTMLParser

            out.add(tidy(LexborHTMLParser(tok.content).text(separator="\n"), keep_breaks=True), "paragraph",
                    line=line)  # fmt: skip
    info = {
        "title": _meta_str(meta, "title") or first_heading,
        "author": _meta_str(meta, "author", "authors"),
        "published": _meta_str(meta, "date", "published"),
    }
    return out.text, out.blocks, info
