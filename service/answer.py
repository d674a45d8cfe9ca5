"""Composing answers and diagnoses from ranked principles: wording, list answers, situation splitting.

Nothing here ranks; it arranges what search.py ranked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from service.models import GroupInfo, Match, Principle
from service.search import Ranked

# "分哪几步 / 有哪些 / 几类 / 包括什么" ask for a whole list, not the single best passage
_LIST_QUESTION = re.compile(
    r"(哪几|哪些|几个|几种|几类|几步|几点|多少个|多少种|分为|分成|包括什么|包含什么|有什么(类型|角色|步骤|方法|要素)"
    r"|都有什么|列出|步骤|流程是什么|分别是)"
)
_CLAUSE_SPLIT = re.compile(r"[。！？!?；;\n…，,、]+|(?:但是|而且|并且|另外|还有|同时|然后)")
MIN_CLAUSE_CHARS = 4
NO_ANSWER = (
    "知识库里没有能回答这个问题的内容。本知识库只收录社群运营方面的原则(定位、内容、人员管理、SOP、常见陷阱等),"
    "请换个与社群运营相关的问法。"
)


def is_list_question(question: str) -> bool:
    return bool(_LIST_QUESTION.search(question))


def candidate_groups(
    ranked: Sequence[Ranked], groups_of: Mapping[str, list[GroupInfo]], top: int = 5
) -> list[GroupInfo]:
    """Lists the top hits introduce or belong to, in rank order: the lists the question may be about."""
    out: list[GroupInfo] = []
    for r in ranked[:top]:
        out += [g for g in groups_of[r.principle.id] if g not in out]
    return out


def _sentence(p: Principle, n: int, with_advice: bool) -> str:
    text = p.summary.rstrip("。")
    if with_advice and p.advice:
        text += f"。建议：{p.advice.rstrip('。')}"
    return f"{p.title}：{text}。[{n}]"


def compose_list_answer(group: GroupInfo, members: Sequence[Principle], cited: Sequence[str]) -> str:
    """The whole group, in order; [n] refers to the position of each member in the returned hits."""
    lead = f"{group.title}共{len(members)}{'步' if group.ordered and '步' in group.title else '项'}:"
    lines = [lead]
    for i, p in enumerate(members, 1):
        n = cited.index(p.id) + 1
        lines.append(f"{i}. {_sentence(p, n, with_advice=False)}")
    return "\n".join(lines)


def compose_answer(chosen: Sequence[Principle]) -> str:
    """How/why questions: the best principle with its advice, then the others that also bear on it."""
    lines = [_sentence(p, n, with_advice=(n == 1 or p.type == "pitfall")) for n, p in enumerate(chosen, 1)]
    if len(lines) == 1:
        return lines[0]
    return lines[0] + "\n另外:\n" + "\n".join(f"- {line}" for line in lines[1:])


def split_situation(text: str) -> list[Match]:
    """Clauses of a situation with offsets into the original text; short fragments join their neighbour."""
    parts: list[Match] = []
    pos = 0
    for m in [*_CLAUSE_SPLIT.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        stripped = chunk.strip()
        if stripped:
            start = pos + chunk.index(stripped)
            parts.append(Match(text=stripped, start=start, end=start + len(stripped)))
        pos = m.end() if m else len(text)
    merged: list[Match] = []
    for part in parts:
        if merged and (len(part.text) < MIN_CLAUSE_CHARS or len(merged[-1].text) < MIN_CLAUSE_CHARS):
            prev = merged.pop()
            part = Match(text=text[prev.start : part.end], start=prev.start, end=part.end)
        merged.append(part)
    return merged


def explain_link(lead_title: str, *, fixes: bool) -> str:
    if fixes:
        return f"解决「{lead_title}」的做法"
    return f"与「{lead_title}」讲的是同一点"


def explain_match(best_field: str | None, best_text: str | None) -> str:
    label = {
        "symptom": "典型症状",
        "question": "常见问法",
        "title": "标题",
        "summary": "要点",
        "advice": "应对建议",
        "keyword": "关键词",
        "passage": "原文",
    }.get(best_field or "", "内容")
    return f"与{label}「{best_text}」相近" if best_text else "与该条的描述相近"


def explain_context(best_field: str | None, best_text: str | None) -> str:
    return "不是陷阱,但文章这样讲到你描述的情况:" + explain_match(best_field, best_text)
