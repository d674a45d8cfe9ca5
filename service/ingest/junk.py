"""Spans of an article that are not its content: copyright and takedown notices, source links, author
bios, comment and share widgets, teasers of other articles, image captions, and text that trails on
after them. Found by cue words per line (web pages repeat the same furniture), each span with why."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["JunkSpan", "find_junk"]

# a line with one of these is page furniture
_STRONG = re.compile(
    r"版权声明|本文链接|原文地址|原文链接|转载请注明|未经许可|禁止转载|侵权|一经查实|举报|本站|"
    r"发表评论|评论列表|登录后才能评论|打赏|扫一扫|上一篇|下一篇|专栏作家|题图来自|我要回帖|随机推荐|"
    r"更多关于|相关推荐|推荐阅读|热门文章|相关文章|文字稿|自动转码|仅供参考|点击关注|长按识别|"
    r"https?://|www\.|(来源[:：])|文/"
)
# weaker signs, trusted only next to a strong one or at the end of the article
_WEAK = re.compile(r"本文作者|大家好,?我是|欢迎|收听|分享网|以下是|[.…]{3}\s*$|\.\.\.$|^\(\d+\)$|^保存$")
_CAPTION = re.compile(r"^.{0,60}[,，]第\d+张$")


@dataclass(frozen=True)
class JunkSpan:
    start: int
    end: int
    why: str
    confidence: float


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        a = pos + len(line) - len(line.lstrip())
        b = pos + len(line.rstrip())
        if b > a:
            out.append((a, b))
        pos += len(line) + 1
    return out


def _inline(text: str, a: int, b: int) -> tuple[int, int]:
    """The junk part of a long line that is mostly content: from the sentence holding the cue to the
    end of the line (an author bio or notice tacked onto the last paragraph)."""
    line = text[a:b]
    m = _STRONG.search(line)
    if m is None or b - a < 200:
        return a, b
    cut = max(line.rfind(p, 0, m.start()) for p in "。！？!?")
    return (a + cut + 1 if cut >= 0 else a), b


def find_junk(text: str) -> list[JunkSpan]:
    lines = _lines(text)
    kinds: list[str | None] = []
    for a, b in lines:
        line = text[a:b]
        if _CAPTION.match(line):
            kinds.append("image caption")
        elif _STRONG.search(line):
            kinds.append("copyright, source or page furniture")
        elif _WEAK.search(line) or (len(line) <= 12 and not re.search(r"[\u4e00-\u9fff]{4}", line)):
            kinds.append("weak")
        else:
            kinds.append(None)
    # a weak line counts next to a strong one; from a strong line on, what follows is junk while each
    # line is weak, short, or a teaser (ends in an ellipsis)
    spans: list[JunkSpan] = []
    i = 0
    while i < len(lines):
        kind = kinds[i]
        if kind is None or kind == "weak":
            if kind == "weak" and i + 1 < len(lines) and kinds[i + 1] not in (None, "weak", "image caption"):
                pass  # a weak line right before a strong one joins its span
            else:
                i += 1
                continue
        a, b = lines[i]
        if kind == "image caption":
            spans.append(JunkSpan(a, b, "image caption", 0.9))
            i += 1
            continue
        if kind == "weak":
            i += 1
            _a2, b = lines[i]
        else:
            a, b = _inline(text, a, b)
        j = i + 1
        while j < len(lines) and kinds[j] is not None:
            b = lines[j][1]
            j += 1
        if j >= len(lines) - 1 and j < len(lines):
            # one line left after the furniture: a trailing teaser or title of something else
            b = lines[j][1]
            j += 1
        spans.append(JunkSpan(a, b, "copyright, source or page furniture", 0.8))
        i = j
    # the end of the article: teasers of other articles (lines ending in an ellipsis) and weak lines
    # (an abstract of another article, a greeting of another author), a plain line between two allowed
    k = len(lines) - 1
    teaser = [bool(re.search(r"(\.\.\.|…)\s*$", text[a:b])) for a, b in lines]
    if k >= 0 and (teaser[k] or kinds[k] == "weak"):
        while k > 0 and (
            teaser[k - 1]
            or kinds[k - 1] == "weak"
            or (k > 1 and kinds[k - 1] is None and kinds[k - 2] == "weak")
        ):
            k -= 1
        if lines[k][0] > len(text) // 2:
            spans.append(
                JunkSpan(lines[k][0], lines[-1][1], "teasers or text of other articles at the end", 0.6)
            )
    return _merge(spans)


def _merge(spans: list[JunkSpan]) -> list[JunkSpan]:
    out: list[JunkSpan] = []
    for s in sorted(spans, key=lambda s: s.start):
        if out and s.start <= out[-1].end:
            last = out.pop()
            out.append(
                JunkSpan(last.start, max(last.end, s.end), last.why, min(last.confidence, s.confidence))
            )
        else:
            out.append(s)
    return out
