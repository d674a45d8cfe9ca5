"""Lists an article states: runs of consecutively numbered markers of one style (`1、`, `(1)`, `1)`,
`①`, `一、`, `第一步`, `01`, `a、`, `其一` …), at line starts or inline (article 001 runs many items on one
line), each with the sentence that introduces it (`N个X`, `有以下几个:`). A run whose items are a few
characters apart is a table of contents, not a list."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = ["ListRun", "Marker", "find_lists", "find_markers", "find_parallel"]

_CN = "一二三四五六七八九十"
_STYLES: dict[str, str] = {
    "dun": r"(?<![\d.])([1-9]\d?)、",
    "paren": r"[(（](\d{1,2})[)）]",
    "half": r"(?<![(（\d])(\d{1,2})[)）]",
    "circled": r"([①②③④⑤⑥⑦⑧⑨⑩])",
    "cn_dun": rf"(?<![{_CN}])([{_CN}]{{1,3}})、",
    "cn_paren": rf"[(（]([{_CN}]{{1,3}})[)）]",
    "di": rf"第([{_CN}\d]{{1,3}})(?=步|点|个重点|条|个方面|部分|层|阶段|招)",
    "zero": r"(?<![\d.])0([1-9])(?=[、.\s]*[\u4e00-\u9fff])",
    "latin": r"(?<![A-Za-z])([a-h])[、.](?=[\u4e00-\u9fff])",
    "qi": rf"其([{_CN}])(?![他它实中次余])",
}
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
COUNT = re.compile(rf"(\d{{1,2}}|[{_CN}两几])\s*(个|大|种|步|点|条|方面|类|件事|招|项|层)")


def _number(style: str, raw: str) -> int:
    if style == "circled":
        return _CIRCLED.index(raw) + 1
    if style == "latin":
        return ord(raw) - ord("a") + 1
    if raw.isdigit():
        return int(raw)
    if raw == "十":
        return 10
    if raw.startswith("十"):
        return 10 + _CN.index(raw[1]) + 1
    if raw.endswith("十"):
        return (_CN.index(raw[0]) + 1) * 10
    if "十" in raw:
        return (_CN.index(raw[0]) + 1) * 10 + _CN.index(raw[-1]) + 1
    return _CN.index(raw) + 1 if len(raw) == 1 else -1


@dataclass(frozen=True)
class Marker:
    style: str
    number: int
    start: int  # where the marker begins
    end: int  # after the marker


@dataclass
class ListRun:
    style: str
    markers: list[Marker]
    toc: bool = False  # a table of contents: items too short to be principles

    @property
    def size(self) -> int:
        return len(self.markers)


def find_markers(text: str, blocked: list[tuple[int, int]]) -> list[Marker]:
    out = []
    for style, pattern in _STYLES.items():
        for m in re.finditer(pattern, text):
            if any(a <= m.start() < b for a, b in blocked):
                continue
            n = _number(style, m.group(1))
            if n > 0:
                out.append(Marker(style, n, m.start(), m.end()))
    return sorted(out, key=lambda m: m.start)


def _restarts(markers: list[Marker], style: str, after: int, nxt: Marker) -> bool:
    want = 1
    for m in markers:
        if m.style == style and after < m.start < nxt.start and m.number == want:
            want += 1
    return want - 1 >= nxt.number - 1 and want > 1


def find_lists(text: str, blocked: list[tuple[int, int]], max_gap: int = 1500) -> list[ListRun]:
    """Runs 1, 2, …, n (n ≥ 2) of one style, each next number the first one after the previous within
    `max_gap` characters; outer runs claim their markers first (runs are started in text order)."""
    markers = find_markers(text, blocked)
    used: set[int] = set()
    runs: list[ListRun] = []
    for first in markers:
        if first.number != 1 or first.start in used:
            continue
        chain = [first]
        while True:
            last = chain[-1]
            # the next number, or one a little further on when a heading lost its marker (004)
            nxt = next(
                (
                    m
                    for skip in (1, 2, 3)
                    for m in markers
                    if m.style == first.style
                    and m.number == last.number + skip
                    and m.start > last.start
                    and m.start not in used
                    and m.start - last.start <= max_gap
                ),
                None,
            )
            if nxt is None:
                break
            if _restarts(markers, first.style, last.start, nxt):
                break  # a new list of the same style starts before it and numbers up to it
            if len(chain) >= 2:
                prev_gap = last.start - chain[-2].start
                if prev_gap < 30 and nxt.start - last.start > 5 * prev_gap:
                    break  # a table of contents running into the body
            chain.append(nxt)
        if len(chain) < 2:
            continue
        used.update(m.start for m in chain)
        gaps = [b.start - a.start for a, b in itertools.pairwise(chain)]
        runs.append(ListRun(first.style, chain, toc=sum(gaps) / len(gaps) < 25))
    return runs


def find_parallel(text: str, blocked: list[tuple[int, int]], min_items: int = 3) -> list[ListRun]:
    """Lists without numbers: three or more consecutive paragraphs opening with the same words
    (article 003's four misuses all open with 把社群当做)."""
    paras: list[int] = []
    pos = 0
    for line in text.split("\n"):
        start = pos + len(line) - len(line.lstrip())
        if line.strip() and not any(a <= start < b for a, b in blocked):
            paras.append(start)
        pos += len(line) + 1

    def common(a: int, b: int) -> int:
        n = 0
        while n < 12 and text[a + n] == text[b + n] and "\u4e00" <= text[a + n] <= "\u9fff":
            n += 1
        return n

    runs: list[ListRun] = []
    i = 0
    while i < len(paras) - 1:
        j = i
        while j + 1 < len(paras) and common(paras[i], paras[j + 1]) >= 3:
            j += 1
        if j - i + 1 >= min_items:
            runs.append(
                ListRun(
                    "parallel",
                    [Marker("parallel", n + 1, paras[k], paras[k]) for n, k in enumerate(range(i, j + 1))],
                )
            )
            i = j + 1
        else:
            i += 1
    return runs
