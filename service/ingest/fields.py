"""The written fields of a drafted principle, all extractive or templated and all marked as generated:
title (an item's heading, else the first clause), summary (the first sentences), keywords (the
passage's most frequent content words), questions (templates per type), and for pitfalls advice (the
sentence that says what to do) and symptoms (sentences that describe the trouble).

Nothing is borrowed from neighbouring curated principles: attaching their questions and symptoms to new
passages lowered retrieval in the measurements behind issue 14; such suggestions are for the reviewer."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping

from service.ingest.text import clean_text
from service.normalize import normalize_text
from service.tokens import word_frequency, words

__all__ = [
    "advice_for",
    "keywords_for",
    "passage_words",
    "questions_for",
    "summary_for",
    "symptoms_for",
    "title_for",
]

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


# openings that carry no topic: connectives and the author's lead-ins (在我看来, 首先我们现在需要明确的是)
_LEAD_IN = re.compile(
    r"^(?:但是|但|所以|而且|而|其实|首先|其次|然后|最后一点就是|最后|另外一?方面的?就?是|另外|此外|同时|因此|那么|"
    r"比如说?|例如|当然|在我看来|我觉得|我认为|我会觉得|这里所谓的|以上就是|第[一二三四五六七八九十\d]点就是|"
    r"就是|一定一定要清楚|一定要清楚|要知道|说实话|当时就有)[,，:：]?"
)
# a clause ending so announces the next one (关于…讲的最清晰的是雷军的这句话, Scalers老师说)
_ANNOUNCES = re.compile(r"(?:是|说|讲|如下|这句话|以下|几点)$")


# where a clause of an article that lost its punctuation goes on to its next one
_CONNECTIVE = re.compile(r"这就是|这样就|因为|所以|那么|但是|而且|如果|基本上|也就是|这个和|同时")


def _run_on(clause: str) -> str:
    """The first clause of a run-on one: cut at the first connective after six characters."""
    if len(clause) <= 20:
        return clause
    m = _CONNECTIVE.search(clause, 6)
    return clause[: m.start()] if m else clause


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in re.split(r"[,，:：。！？!?；;]", text) if c.strip()]


def title_for(passage: str, heading: str | None) -> str:
    """An item's heading without its marker; else the passage's first clause that says something: lead-in
    words dropped, and a clause that only announces the next (…的是, …说) replaced by that next one."""
    if heading:
        t = _MARKER.sub("", clean_text(heading)).strip(" :：,，")
        if len(t) >= 2:
            return _trim(t, 40)
    first = _MARKER.sub("", clean_text(passage))
    clauses = _clauses(first[:200])
    for i, clause in enumerate(clauses[:4]):
        clause = _LEAD_IN.sub("", clause).strip()
        if len(clause) < 4:
            continue
        if _ANNOUNCES.search(clause) and i + 1 < len(clauses) and len(clauses[i + 1]) >= 4:
            clause = _LEAD_IN.sub("", clauses[i + 1]).strip()
        return _trim(_run_on(clause), 40)
    return _trim(first[:24], 40) or "未命名段落"


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


# what trouble looks like in a group: the sentences of a pitfall's passage that describe it
_TROUBLE = re.compile(
    r"死|沉默|没人|没有人|不活跃|冷清|消沉|退群|挂掉|无效|浪费|失败|没效果|没有效果|累死|不理|潜水|看热闹|"
    r"广告|刷屏|反感|流失|尴尬|混乱|没温度|不知道|莫名其妙|负担|难|低"
)
# a title that states a lack or a wrong act reads as the operator's own account after 我们的群
_ACCOUNT = re.compile(r"^(?:没有|没|缺乏|缺少|一直|靠|把|只|不|太|过度|盲目|忽视|忽略|群)")


def _first_person(title: str) -> str | None:
    t = title.removeprefix("社群").removeprefix("群")
    return f"我们的群{t}" if _ACCOUNT.match(title) else None


def symptoms_for(passage: str, title: str) -> tuple[list[str], float]:
    """How an operator would describe being in the pitfall: the title as their own account (我们的群没有
    精心设计进入社群的门槛), that account with the passage's first trouble sentence, then the trouble
    sentences themselves (流量群扫码直接进入的群是最容易做死的)."""
    sents = [s for s in _sentences(passage)[1:] if not _ADVICE.search(s) and 8 <= len(s) <= 80]
    sents = [s for s in sents if title not in s]  # the heading line itself
    trouble = [s for s in _sentences(passage) if _TROUBLE.search(s) and 8 <= len(s) <= 80 and title not in s]
    trouble += [s for s in sents if s not in trouble]
    account = _first_person(title)
    out = []
    if account is not None:
        out.append(account)
        if trouble:
            out.append(_trim(f"{account},{trouble[0].rstrip('。!！')},该怎么办?", 120))
    out += trouble[:2]
    if len(out) < 2:  # nothing in the passage reads as trouble: the operator owns up to the title
        out += [f"我们在「{title}」这件事上没做好,该怎么办?", f"没做到{title}会怎么样?"]
    conf = 0.3 if len(trouble) >= 2 else 0.1
    return list(dict.fromkeys(out))[:4], conf


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


_LACK = re.compile(r"^(?:没有|没|缺乏|缺少|不)(?:精心)?")


def questions_for(
    type_: str, title: str, overview: bool, size: int, keywords: list[str] | None = None
) -> list[str]:
    """Template questions on the title, as an operator asks them: a pitfall stating a lack (没有X) is
    asked as whether and how to do X; two of the passage's distinctive words give one more question in
    the operator's terms."""
    if overview:
        return [f"{title}有哪些?", f"{title}分哪几个?", f"{title}包括哪{size}个方面?"]
    out = [q.format(t=title) for q in _TEMPLATES.get(type_, _TEMPLATES["concept"])]
    lack = _LACK.match(title)
    rest = title[lack.end() :] if lack else ""
    if type_ == "pitfall" and len(rest) >= 2 and not re.search(r"没|不", rest):
        out = [f"要不要{rest}?", f"不{rest}会怎么样?", f"怎么做到{rest}?", *out[1:]]
    return list(dict.fromkeys(out))


def passage_words(passage: str) -> list[str]:
    """The content words keywords are chosen from: two characters or more, no numbers."""
    return [w for w in words(normalize_text(passage)) if len(w) >= 2 and not w.isdigit()]


def keywords_for(passage: str, k: int = 6, df: Mapping[str, int] | None = None, docs: int = 1) -> list[str]:
    """The passage's distinctive words: frequent in it, rare in the article's other passages (`df`:
    in how many of the article's `docs` passages each word occurs). Words every passage uses (社群,
    运营, 用户 in these articles) say nothing about this one; without `df`, the most frequent words."""
    counts = Counter(passage_words(passage))

    def weight(w: str) -> float:
        # a word in most passages tells none apart; an article of one or two passages has nothing to compare
        if df is not None and docs >= 3 and df.get(w, 0) > docs / 2:
            return 0.0
        idf = math.log((docs + 1) / (df.get(w, 0) + 1)) if df is not None and docs >= 3 else 1.0
        common = 1 + math.log1p(word_frequency(w) / 500)
        return counts[w] * min(len(w), 4) * max(idf, 0.0) / common

    # a two-character word jieba does not know is mostly a mis-cut of unpunctuated text (群会, 上要)
    counts = Counter({w: n for w, n in counts.items() if w.isascii() or len(w) > 2 or word_frequency(w)})
    ranked = sorted(counts, key=lambda w: (-weight(w), w))
    return [w for w in ranked if weight(w) > 0][:k]
