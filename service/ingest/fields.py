"""The written fields of a drafted principle, all extractive or templated and all marked as generated:
title (an item's heading, else the first clause), summary (the first sentences), keywords (the
passage's most frequent content words), questions (templates per type), and for pitfalls advice (the
sentence that says what to do) and symptoms (sentences that describe the trouble).

Nothing is borrowed from neighbouring curated principles: attaching their questions and symptoms to new
passages lowered retrieval in the measurements behind issue 14; such suggestions are for the reviewer."""

from __future__ import annotations

import re
from collections import Counter

from service.ingest.text import clean_text
from service.normalize import normalize_text
from service.tokens import words

__all__ = ["advice_for", "keywords_for", "questions_for", "summary_for", "symptoms_for", "title_for"]

_SENT = re.compile(r"(?<=[。！？!?；;…])|\n+")
_MARKER = re.compile(
    r"^\s*(?:[(（]?\d{1,2}[)）、.]|[①-⑩]|[一二三四五六七八九十]{1,3}、|第[一二三四五六七八九十\d]{1,3}(?:步|点|个重点)[:：]?|"
    r"0[1-9]、?|[a-h]、|其[一二三四五六七八九十])\s*"
)
_ADVICE = re.compile(r"要|应该|应当|需要|建议|一定|必须|不妨|才能|才是|可以|最好|关键")


def _sentences(passage: str) -> list[str]:
    return [s for s in (clean_text(x) for x in _SENT.split(passage)) if len(s) >= 4]


def _trim(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def title_for(passage: str, heading: str | None) -> str:
    if heading:
        t = _MARKER.sub("", clean_text(heading)).strip(" :：,，")
        if len(t) >= 2:
            return _trim(t, 40)
    first = _MARKER.sub("", clean_text(passage))
    clause = re.split(r"[,，:：。！？!?；;]", first, maxsplit=1)[0].strip()
    return _trim(clause if len(clause) >= 4 else first[:24], 40) or "未命名段落"


def summary_for(passage: str, title: str) -> str:
    out = ""
    for s in _sentences(_MARKER.sub("", passage))[:3]:
        if len(out) >= 60:
            break
        out += s
    out = _trim(out, 200)
    if len(out) < 10:
        out = _trim(f"{title}:{clean_text(passage)}", 200)
    return out if len(out) >= 10 else (out + "(原文较短,请补充)")


def advice_for(passage: str) -> tuple[str, float]:
    sents = _sentences(passage)[1:] or _sentences(passage)
    hits = [s for s in sents if _ADVICE.search(s)]
    if hits:
        return _trim(hits[-1], 200), 0.5
    return _trim(sents[-1] if sents else clean_text(passage), 200), 0.2


def symptoms_for(passage: str, title: str) -> tuple[list[str], float]:
    sents = [s for s in _sentences(passage)[1:] if not _ADVICE.search(s) and 8 <= len(s) <= 80]
    if len(sents) >= 2:
        return sents[:2], 0.3
    return [*sents, f"我们现在的情况是:{title}", f"遇到「{title}」这种问题该怎么处理"][:2], 0.1


_TEMPLATES = {
    "pitfall": ["{t}有什么问题?", "怎样避免{t}?", "做社群时{t}会带来什么后果?"],
    "practice": ["{t}具体怎么做?", "为什么要{t}?", "社群运营中如何做到{t}?"],
    "positioning_step": ["社群定位的这一步:{t}怎么做?", "{t}要注意什么?", "社群定位分哪几步?"],
    "group_type": ["{t}是什么样的群?", "{t}适合用在什么场景?", "社群有哪些类型?"],
    "role_type": ["社群里的{t}是什么角色?", "{t}负责什么?", "社群里需要哪些角色?"],
    "content_category": ["{t}属于什么内容?", "社群内容有哪些类别?", "社群里可以发哪些{t}?"],
    "element": ["{t}在社群运营中为什么重要?", "社群运营的核心要素有哪些?", "怎么理解{t}?"],
    "rule": ["{t}这条群规怎么定?", "社群管理制度包括什么?", "为什么要规定{t}?"],
    "case": ["{t}是怎么做的?", "有没有{t}的案例?", "从{t}能学到什么?"],
    "concept": ["什么是{t}?", "怎么理解{t}?", "{t}说明了什么?"],
}


def questions_for(type_: str, title: str, overview: bool, size: int) -> list[str]:
    if overview:
        return [f"{title}有哪些?", f"{title}分哪几个?", f"{title}包括哪{size}个方面?"]
    return [q.format(t=title) for q in _TEMPLATES.get(type_, _TEMPLATES["concept"])]


def keywords_for(passage: str, k: int = 5) -> list[str]:
    counts = Counter(w for w in words(normalize_text(passage)) if len(w) >= 2 and not w.isdigit())
    ranked = sorted(counts, key=lambda w: (-counts[w] * min(len(w), 4), w))
    return ranked[:k]
