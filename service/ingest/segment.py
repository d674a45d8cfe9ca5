"""Principle boundaries at sentence level: list items where the article numbers them (with the sentence
that introduces the list as its overview), elsewhere passages cut where the topic shifts: a dynamic
programme over sentence boundaries that prefers paragraph breaks, opening cue words and low lexical
overlap, and passages near the length curators give a principle."""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field

from service.ingest.junk import JunkSpan
from service.ingest.lists import COUNT, ListRun, find_lists, find_parallel
from service.ingest.text import Unit, split_units

__all__ = ["Group", "Layout", "Segment", "segment_article"]

TARGET = 190  # characters: about the median curated passage
MAX_PASSAGE = 520
MIN_PASSAGE = 40
# What makes a boundary between two units good, in the cost the passages' lengths are weighed against
# (a passage of twice TARGET costs 1): a new paragraph is the strongest sign, a cue word (其次, 另外…)
# a weaker one; a heading (a short unit without closing punctuation) starts a passage and never ends
# one; a change of words across the boundary (bigram Jaccard distance over TOPIC_WINDOW units each
# side) adds up to BOUNDARY_TOPIC. The weights were set on the curated articles' own passages.
BOUNDARY_PARAGRAPH = 0.8
BOUNDARY_CUE = 0.5
BOUNDARY_HEADING = 0.6
BOUNDARY_TOPIC = 0.6
TOPIC_WINDOW = 3
HEADING_MAX_CHARS = 30
# a passage shorter than MIN_PASSAGE pays this on top of its length cost: a fragment is rarely a point
SHORT_PASSAGE_COST = 1.5
_CUE = re.compile(
    r"^(那么?|所以|但是|但|当然|首先|其次|然后|最后|总之|总结|综上|另外|此外|除此之外|比如|例如|举个例子|"
    r"因此|其实|事实上|这里|这个时候|好[,，]|以上|说到底|撇开|凡此|关于|如果|而像|接下来|同时)"
)
_HEADING_TAIL = re.compile(r"[。！？!?；;…,，、]$")
# a paragraph opening with these goes on with the point before it: never where a lost item starts
_CONTINUES = re.compile(
    r"^(举个例子|举例|比如|例如|而|如果没有|如果不|否则|所以|因此|这样|同时|也就是说|换句话说|当然|但是?)"
)


@dataclass
class Segment:
    start: int
    end: int
    kind: str  # "member", "overview" or "passage"
    group: int | None = None
    order: int | None = None
    heading: str | None = None  # an item's own heading (text after its marker), for the title
    confidence: float = 0.5  # how sure the boundary is


@dataclass
class Group:
    index: int
    style: str
    members: list[int] = field(default_factory=list)  # segment indexes, in order
    overview: int | None = None  # segment index
    title: str = ""
    confidence: float = 0.5


@dataclass
class Layout:
    title_line: tuple[int, int] | None
    segments: list[Segment]
    groups: list[Group]
    toc: list[tuple[int, int]]


def _title_line(text: str) -> tuple[int, int] | None:
    first = text.lstrip()
    a = len(text) - len(first)
    line = first.split("\n", 1)[0].rstrip()
    if 4 <= len(line) <= 80 and "\n" in first and not re.search(r"[。]$", line):
        return a, a + len(line)
    return None


def _bigrams(s: str) -> set[str]:
    s = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", s)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _heading(text: str, start: int, end: int) -> str:
    item = text[start:end]
    m = re.match(r"\s*([^\n。！？!?；;:：,，]{2,40})", item)
    return m.group(1).strip() if m else item[:20].strip()


def _extend(units: list[Unit], i: int, want: int, stop: set[int], limit: int) -> int:
    """Index of the last unit of a passage starting at unit i: grow until `want` characters, stopping
    at a paragraph break once half of that is reached, at units in `stop`, or beyond `limit`."""
    j = i
    while j + 1 < len(units) and units[j + 1].start < limit and units[j + 1].start not in stop:
        length = units[j].end - units[i].start
        if length >= want or (units[j + 1].paragraph_start and length >= want // 2):
            break
        j += 1
    return j


def _lost_items(units: list[Unit], a: int, b: int, k: int) -> list[int]:
    """Where the items of [a, b) start when the numbering jumps by k there: the k - 1 items after the
    first lost their markers (004 numbers its eight failures (1), (4), (7), (8)). They start at
    paragraph breaks: pieces of even length, cut where the words change and not before a paragraph that
    goes on with the point before it. Just [a] when there are too few paragraphs to cut."""
    inside = [i for i, u in enumerate(units) if a <= u.start < b]
    paras = [i for i in inside[1:] if units[i].paragraph_start]
    if k < 2 or len(paras) < k - 1 or len(paras) > 24:
        return [a]
    end = max(units[i].end for i in inside)

    def quality(i: int) -> float:
        left = _bigrams("".join(u.text for u in units[max(inside[0], i - 2) : i]))
        right = _bigrams("".join(u.text for u in units[i : i + 2]))
        change = 1 - len(left & right) / len(left | right) if left and right else 0.0
        return change - (1.0 if _CONTINUES.match(units[i].text) else 0.0)

    mean = (end - a) / k
    best: tuple[float, list[int]] = (float("inf"), [a])
    for cut in itertools.combinations(paras, k - 1):
        starts = [a, *(units[i].start for i in cut)]
        lengths = [y - x for x, y in itertools.pairwise([*starts, end])]
        if min(lengths) < MIN_PASSAGE:
            continue
        cost = sum(((n - mean) / mean) ** 2 for n in lengths) - sum(quality(i) for i in cut)
        if cost < best[0]:
            best = (cost, starts)
    return best[1]


def _is_heading(u: Unit) -> bool:
    return len(u.text) < HEADING_MAX_CHARS and not _HEADING_TAIL.search(u.text)


def _dp(units: list[Unit], text: str) -> list[tuple[int, int]]:
    """Cut units[0:n] into passages: minimise length cost minus boundary quality."""
    n = len(units)
    if n == 0:
        return []
    quality = [0.0] * n
    for j in range(1, n):
        u = units[j]
        q = 0.0
        if u.paragraph_start:
            q += BOUNDARY_PARAGRAPH
        if _CUE.match(u.text):
            q += BOUNDARY_CUE
        if _is_heading(units[j - 1]):
            q -= BOUNDARY_HEADING  # the previous unit is a heading: keep it with what follows
        if _is_heading(u) and u.paragraph_start:
            q += BOUNDARY_HEADING  # this unit is a heading
        left = _bigrams("".join(x.text for x in units[max(0, j - TOPIC_WINDOW) : j]))
        right = _bigrams("".join(x.text for x in units[j : j + TOPIC_WINDOW]))
        if left and right:
            q += BOUNDARY_TOPIC * (1 - len(left & right) / len(left | right))
        quality[j] = q
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            length = units[j - 1].end - units[i].start
            if length > MAX_PASSAGE and i < j - 1:
                break
            cost = ((length - TARGET) / TARGET) ** 2
            if length < MIN_PASSAGE:
                cost += SHORT_PASSAGE_COST
            c = best[i] + cost - (quality[i] if i > 0 else 0.0)
            if c < best[j]:
                best[j], back[j] = c, i
    cuts, j = [], n
    while j > 0:
        cuts.append((back[j], j - 1))
        j = back[j]
    return cuts[::-1]


def _top_lists(runs: list[ListRun], text: str) -> list[ListRun]:
    """Drop a run nested inside an item of another run of the same style: sub-points whose numbering
    restarts (article 000's trap 5 lists three reasons as 1、2、3、), not a list of their own."""
    keep = []
    for r in runs:
        a, b = r.markers[0].start, r.markers[-1].start
        nested = any(
            o is not r
            and o.style == r.style
            and not o.toc
            and any(x.start < a and b < y.start for x, y in zip(o.markers, o.markers[1:], strict=False))
            for o in runs
        )
        if not nested:
            keep.append(r)
    return keep


def segment_article(text: str, junk: list[JunkSpan]) -> Layout:
    title = _title_line(text)
    blocked = [(j.start, j.end) for j in junk] + ([title] if title else [])
    runs = _top_lists(find_lists(text, blocked), text)
    numbered = [(r.markers[0].start, r.markers[-1].start) for r in runs]
    runs += [
        r
        for r in find_parallel(text, blocked)
        if not any(a <= r.markers[0].start <= b for a, b in numbered)  # inside a numbered list: its text
    ]
    cuts = [m.start for r in runs if not r.toc for m in r.markers]
    units = [
        u for u in split_units(text, cuts) if not any(a <= u.start < b or a < u.end <= b for a, b in blocked)
    ]
    starts = {u.start: k for k, u in enumerate(units)}
    segments: list[Segment] = []
    groups: list[Group] = []
    toc: list[tuple[int, int]] = []
    all_markers = set(cuts)
    junk_starts = sorted(a for a, _ in blocked)

    def limit_after(pos: int) -> int:
        return next((a for a in junk_starts if a > pos), len(text))

    for run in sorted(runs, key=lambda r: r.markers[0].start):
        if run.toc:
            first, last = run.markers[0].start, run.markers[-1].end
            k = next((k for k, u in enumerate(units) if u.start >= last), len(units))
            end = units[k].end if k < len(units) and units[k].end - last < 40 else last
            toc.append((first, end))
            continue
        g = Group(len(groups), run.style)
        spans = []
        for n, m in enumerate(run.markers):
            nxt = run.markers[n + 1].start if n + 1 < run.size else None
            spans.append((m.start, nxt))
        closed = [b - a for a, b in spans if b is not None]
        median = int(statistics.median(closed)) if closed else TARGET
        if run.size == 2 and median > 500:
            continue  # two long numbered parts are sections of the article (002's 01、 02、), not a list
        for n, (a, b) in enumerate(spans):
            at = starts.get(a)
            if at is None:
                continue
            jump = run.markers[n + 1].number - run.markers[n].number if b is not None else 1
            if b is not None and jump > 1:
                pieces = _lost_items(units, a, b, jump)
                ends = [*pieces[1:], b]
                for i, (x, y) in enumerate(zip(pieces, ends, strict=True)):
                    end = max((u.end for u in units if x <= u.start < y), default=y)
                    # a lost item has no heading of its own: its title is its first clause
                    heading = _heading(text, run.markers[n].end, end) if i == 0 else None
                    segments.append(Segment(x, end, "member", g.index, None, heading, 0.8 if i == 0 else 0.5))
                    g.members.append(len(segments) - 1)
                continue
            if b is None or b - a > max(3 * median, 600):
                stop = all_markers - {a}
                j = _extend(units, at, int(median * 1.1), stop, b if b is not None else limit_after(a))
                end = units[j].end
            else:
                end = max((u.end for u in units if a <= u.start < b), default=b)
            segments.append(
                Segment(a, end, "member", g.index, n + 1, _heading(text, run.markers[n].end, end), 0.8)
            )
            g.members.append(len(segments) - 1)
        # the sentence before the first item introduces the list
        k0 = starts.get(run.markers[0].start)
        if k0:
            prev = units[k0 - 1]
            intro = prev.text
            if (intro.endswith((":", "：")) or COUNT.search(intro) or len(intro) < 40) and run.markers[
                0
            ].start - prev.end < 40:
                a = prev.start
                if len(intro) < 15 and k0 >= 2:
                    a = units[k0 - 2].start
                segments.append(Segment(a, prev.end, "overview", g.index, None, None, 0.6))
                g.overview = len(segments) - 1
                count = COUNT.search(intro)
                clauses = [c for c in re.split(r"[,，。；;!！?？]", intro) if c.strip()] or [intro]
                pick = next((c for c in clauses if COUNT.search(c)), clauses[-1])
                g.title = pick.strip().rstrip(":：").strip()
                g.confidence = 0.7 if count else 0.5
        if not g.title:
            first_head = segments[g.members[0]].heading or ""
            g.title = f"{first_head}等{len(g.members)}项"
            g.confidence = 0.3
        groups.append(g)
    covered = [(s.start, s.end) for s in segments] + toc
    region: list[Unit] = []
    for u in [*units, None]:
        inside = u is not None and any(a <= u.start < b for a, b in covered)
        if u is None or inside:
            if region:
                for i, j in _dp(region, text):
                    if region[j].end - region[i].start >= 12:
                        segments.append(Segment(region[i].start, region[j].end, "passage", confidence=0.5))
                region = []
            continue
        region.append(u)
    order = sorted(range(len(segments)), key=lambda k: (segments[k].start, -segments[k].end))
    remap = {old: new for new, old in enumerate(order)}
    segments = [segments[k] for k in order]
    for g in groups:
        g.members = [remap[k] for k in g.members]
        g.overview = remap[g.overview] if g.overview is not None else None
    return Layout(title, segments, groups, toc)
