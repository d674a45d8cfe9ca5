"""Plain UTF-8 text: kept exactly as it is (corpus/raw gets the same bytes), one block per line."""

from __future__ import annotations

import re

from service.errors import InputError
from service.source_models import Block

__all__ = ["decode_text", "read_text"]


# a saved page says its encoding; older Chinese sites serve GBK or Big5
_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_-]{2,20})", re.I)


def _declared(data: bytes) -> str | None:
    """The encoding a web page declares in its <meta>, when Python knows it."""
    import codecs

    m = _CHARSET.search(data[:4096])
    if m is None:
        return None
    try:
        return codecs.lookup(m.group(1).decode("ascii")).name
    except LookupError:
        return None


def decode_text(data: bytes, name: str) -> str:
    """The file as text, refused (naming the file and what to do) when it is not a UTF-8 article (or a
    web page in the encoding it declares)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        declared = _declared(data)
        if declared is not None and declared != "utf-8":
            try:
                return decode_text(data.decode(declared).encode("utf-8"), name)
            except UnicodeDecodeError:
                pass
        raise InputError(
            f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8 "
            "(记事本 or WPS: 另存为 → 编码 UTF-8) and add it again"
        ) from exc
    if not text.strip():
        raise InputError(f"{name}: the article is empty: choose the file that holds its text")
    if "\x00" in text or re.search(r"[\x01-\x08\x0e-\x1f]", text):
        raise InputError(f"{name}: control characters: not a text file")
    return text


def read_text(text: str) -> list[Block]:
    """The blocks of a text kept unchanged: each non-empty line a paragraph, numbered by its line."""
    blocks = []
    pos = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped:
            start = pos + line.index(stripped[0])
            blocks.append(Block(start=start, end=start + len(stripped), kind="paragraph", line=number))
        pos += len(line) + 1
    return blocks
