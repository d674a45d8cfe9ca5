"""An article as units: sentences (cut at sentence ends, line breaks and list markers), each with its
code-point offsets into the raw text, so that every span drafted from units cites the raw text exactly."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from service.normalize import repair_lookalikes, repair_words, strip_pinyin, to_simplified

__all__ = ["Unit", "clean_text", "split_units"]

_END = re.compile(r"[。！？!?；;…]+[”’」』\"')）]*|\n+")


@dataclass(frozen=True)
class Unit:
    start: int  # first non-space character
    end: int  # after the last non-space character
    text: str
    paragraph_start: bool  # a line break precedes it


def clean_text(text: str) -> str:
    """Readable simplified Chinese for generated fields: the normal form without case folding, and
    whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(repair_lookalikes(strip_pinyin(text)))
    return re.sub(r"\s+", " ", repair_words(text)).strip()


def split_units(text: str, cuts: list[int] | None = None, lo: int = 0, hi: int | None = None) -> list[Unit]:
    """Units of text[lo:hi]: sentence ends and line breaks end a unit; `cuts` (list marker offsets)
    start one."""
    hi = len(text) if hi is None else hi
    bounds = {lo, hi}
    for m in _END.finditer(text, lo, hi):
        bounds.add(m.end())
    bounds.update(c for c in cuts or [] if lo < c < hi)
    edges = sorted(bounds)
    units = []
    for a, b in itertools.pairwise(edges):
        seg = text[a:b]
        stripped = seg.strip()
        if not stripped:
            continue
        s = a + (len(seg) - len(seg.lstrip()))
        e = s + len(stripped)
        before = text[max(lo, s - 3) : s]
        units.append(Unit(s, e, stripped, s == 0 or "\n" in before or text[max(0, s - 1) : s] == "\n"))
    return units
