"""What every format's reader returns (`Extracted`), and the one way they write it (`TextBuilder`): each
block of the original on its own line of the extracted text, its span recorded with where it came from,
so headings, list items and paragraphs reach the drafting as lines and citations can be placed."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import Field

from service.source_models import Block, BlockKind, SourceInfo, SourceRecord

__all__ = ["CELL_SEPARATOR", "Extracted", "TextBuilder", "join_lines", "tidy"]

_HAN = "\u4e00-\u9fff\u3400-\u4dbf"
# zero-width characters editors and WeChat sprinkle into text: invisible, and they would split words
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# a line break in the source between two Han characters is layout (wrapping), not a space
_WRAP = re.compile(rf"(?<=[{_HAN}，。、；：！？”’）])[ \t]*\n\s*(?=[{_HAN}“‘（])")
_SPACES = re.compile(r"[ \t\xa0\u3000]+")


class Extracted(SourceInfo):
    text: str = Field(description="the extracted plain text: what corpus/raw holds and citations index")

    def record(self, file: str) -> SourceRecord:
        data = self.model_dump(exclude={"text"})
        return SourceRecord(
            **data,
            file=file,
            text_sha256=hashlib.sha256(self.text.encode("utf-8")).hexdigest(),
            chars=len(self.text),
        )


def tidy(text: str, keep_breaks: bool = False) -> str:
    """Text of one block as a reader sees it: no invisible or control characters, runs of spaces as
    one, no space at line edges; line breaks inside it kept only with `keep_breaks` (a `<br>`)."""
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    if not keep_breaks:
        text = _WRAP.sub("", text).replace("\n", " ")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def join_lines(left: str, right: str) -> str:
    """Two pieces of one paragraph (wrapped lines): nothing between Chinese, a space between words."""
    if not left or not right:
        return left + right
    if re.match(r"[A-Za-z0-9]", left[-1]) and re.match(r"[A-Za-z0-9]", right[0]):
        return f"{left} {right}"
    return left + right


# between the cells of a table row, which share a line: a wide space, not markup
CELL_SEPARATOR = "\u3000"


class TextBuilder:
    """Builds the extracted text block by block: one block a line, or `joined` onto the last line (a
    paragraph running over a PDF page break: one line of text, a block per page). A table is a line
    per row, its cells (a block each) separated by CELL_SEPARATOR."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pos = 0
        self.blocks: list[Block] = []

    def add(self, text: str, kind: BlockKind, joined: bool = False, **where: Any) -> bool:
        """Append a block (already tidied); False when it is empty and nothing was added. A block of
        several lines (a `<br>`, a soft break kept) is a block per line, but for code."""
        if not text:
            return False
        if "\n" in text and kind != "code":
            first, *rest = text.split("\n")
            self.add(first, kind, joined, **where)
            for i, line in enumerate(rest, start=1):
                shifted = {**where, "line": where["line"] + i} if where.get("line") else where
                self.add(line, kind, **shifted)
            return True
        prev = self.blocks[-1] if self.blocks else None
        same_row = (
            kind == "table_cell" and prev is not None and prev.kind == "table_cell"
            and (prev.table, prev.row) == (where.get("table"), where.get("row"))
        )  # fmt: skip
        if same_row:
            self._parts.append(CELL_SEPARATOR)
            self._pos += len(CELL_SEPARATOR)
        elif self._parts and not joined:
            self._parts.append("\n")
            self._pos += 1
        elif joined and self._parts:
            last = self._parts[-1]
            glued = join_lines(last, text)
            if len(glued) > len(last) + len(text):
                self._parts.append(" ")
                self._pos += 1
        start = self._pos
        self._parts.append(text)
        self._pos += len(text)
        if kind == "heading" and "text" not in where:
            where["text"] = text
        self.blocks.append(Block(start=start, end=self._pos, kind=kind, **where))
        return True

    @property
    def text(self) -> str:
        return "".join(self._parts)
