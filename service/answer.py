"""The wording of answers and diagnoses: sentences, list answers, why a hit is there. Nothing here ranks
or chooses; service/ask.py and service/diagnose.py decide what is said, this module says it."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from service.models import DiagnoseHit, GroupInfo, Hit, Principle
from service.retrieval import Evidence

__all__ = [
    "BRIEF_CHARS",
    "NOT_A_SITUATION",
    "NOT_COVERED_BRIEF",
    "NO_ANSWER",
    "Composed",
    "advice_label",
    "compose_answer",
    "compose_list_answer",
    "compose_reading",
    "explain_context",
    "explain_link",
    "explain_match",
    "first_sentence",
    "missing_notes",
    "no_answer",
    "partly_covered",
]

NO_ANSWER = (
    "知识库里没有能回答这个问题的内容。本知识库只收录社群运营方面的原则(定位、内容、人员管理、SOP、常见陷阱等),"
    "请换个与社群运营相关的问法。"
)
NOT_COVERED_BRIEF = "知识库里没有能回答这个问题的内容。"
NOT_A_SITUATION = (
    "这段描述看起来不是社群运营中的问题,知识库里没有对应的陷阱。本知识库只收录社群运营方面的原则"
    "(定位、内容、人员管理、SOP、常见陷阱等);如果是社群里遇到的情况,请具体说说群里发生了什么。"
)


def no_answer(suggestions: list[str]) -> str:
    """The refusal, with the closest topics the articles do cover."""
    if not suggestions:
        return NO_ANSWER
    return NO_ANSWER + "知识库里相近的内容有:" + "、".join(f"「{t}」" for t in suggestions) + "。"


def partly_covered(parts: list[str]) -> str:
    return "以下部分文章没有讲到,上面的回答不涉及:" + "、".join(f"「{p}」" for p in parts) + "。"


_FIELD_LABELS = {
    "symptom": "典型症状",
    "question": "常见问法",
    "phrasing": "常见说法",  # not "用户的说法": read beside the user's own words, it seemed to quote them
    "title": "标题",
    "summary": "要点",
    "advice": "应对建议",
    "keyword": "关键词",
    "passage": "原文",
}


# the brief answer's length limit, in characters, [n] marks included
BRIEF_CHARS = 150
# how many sentences a brief holds at most
BRIEF_SENTENCES = 3
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")


@dataclass(frozen=True)
class Composed:
    """An answer's text: `brief` (the direct answer, cited) and `points` (the list or the supporting
    points by title, cited); the hits carry the rest, so nothing is said twice."""

    brief: str
    points: str

    @property
    def answer(self) -> str:
        return self.brief + ("\n" + self.points if self.points else "")


def first_sentence(text: str, budget: int) -> str:
    """The first sentence of `text` without its end mark, cut at a clause boundary to fit `budget`
    characters (with an ellipsis when even the first clause does not fit)."""
    sentences = [x.strip() for x in _SENTENCE_END.split(text.strip()) if x.strip()]
    # a summary that opens with the question it answers ("发广告应不应该禁止？") answers in the next one
    statements = [x for x in sentences if not x.endswith(("？", "?"))] or sentences or [""]
    sentence = statements[0].rstrip("。；;")
    if len(sentence) <= budget:
        return sentence
    out = ""
    for clause in _CLAUSE_END.split(sentence):
        if len(out) + len(clause) > budget - 1:
            break
        out += clause
    out = out.rstrip("，,、：:")
    return (out or sentence[: budget - 1]) + "…"


def _fit(sentences: Sequence[str], limit: int = BRIEF_CHARS) -> str:
    """Whole sentences, in order, while they fit; the first always (already cut to the limit)."""
    out = ""
    for s in sentences[:BRIEF_SENTENCES]:
        if out and len(out) + len(s) > limit:
            break
        out += s
    return out


def advice_label(p: Principle | Hit) -> str:
    """建议 when the article says it, 整理者建议 when it is the curator's (never passed off as a quote)."""
    return "建议" if p.advice_source == "article" else "整理者建议"


def _cited(text: str, n: int) -> str:
    return f"{text}。[{n}]"


def compose_answer(
    chosen: Sequence[Principle],
    with_advice: Collection[str] = (),
    listed: Sequence[tuple[str, int]] = (),
    list_size: int = 0,
) -> Composed:
    """How/why questions. The brief: the best principle's first sentence, what the article lacks there,
    its advice's first sentence when its type gives advice, then either the members of the short list it
    introduces (`listed`: title and [n]) or the second principle's first sentence, while there is room;
    each cited. The points: every chosen principle by title."""
    lead = chosen[0]
    budget = BRIEF_CHARS - 4
    sentences = [_cited(first_sentence(lead.summary, budget), 1)]
    if lead.missing:  # what the article lacks is said before anything else is added
        sentences.append(_cited(lead.missing, 1))
    if lead.advice and lead.type in with_advice:
        tip = first_sentence(lead.advice, budget - len(sentences[0]) - 8)
        sentences.append(_cited(f"{advice_label(lead)}：{tip}", 1))
    if listed:
        more = f"等{list_size}项" if list_size > len(listed) else ""
        sentences.append("包括:" + "、".join(f"{title}[{n}]" for title, n in listed) + more + "。")
    elif len(chosen) > 1:
        sentences.append(_cited(first_sentence(chosen[1].summary, budget), 2))
    points = [f"{n}. {p.title} [{n}]" for n, p in enumerate(chosen, 1)] if len(chosen) > 1 else []
    return Composed(_fit(sentences), "\n".join(["要点:", *points]) if points else "")


def compose_list_answer(group: GroupInfo, members: Sequence[Principle], cited: Sequence[str]) -> Composed:
    """The whole group, in order; [n] refers to the position of each member in the returned hits. A
    list the article does not give in full says so instead of counting what it has."""
    marks = [f"{p.title}[{cited.index(p.id) + 1}]" if p.id in cited else p.title for p in members]
    unit = "步" if group.ordered and "步" in group.title else "项"
    # a list the article does not give in full is not counted: "共4项" would contradict "可分8类"
    head = f"{group.missing}；正文讲到的有:" if group.missing else f"{group.title}共{len(members)}{unit}:"
    named = ""
    for i, mark in enumerate(marks):
        rest = len(marks) - i
        if len(head) + len(named) + len(mark) + 8 > BRIEF_CHARS and rest > 1:
            named += f"等{len(marks)}{unit}"
            break
        named += ("、" if named else "") + mark
    lines = [f"{i}. {mark}" for i, mark in enumerate(marks, 1)]
    return Composed(head + named + "。", "\n".join([f"{group.title}:", *lines]))


def missing_notes(hits: Sequence[Hit]) -> str:
    """What the cited principles announce but the article does not give (an image, a contents list)."""
    notes = [f"「{h.title}」[{h.rank}]:{h.missing}" for h in hits if h.missing]
    return "\n".join(f"注:{n}" for n in notes)


def compose_reading(hits: Sequence[DiagnoseHit], pitfall_types: Collection[str]) -> str:
    """Diagnose's one-line reading: the distinct problems found, in rank order, each cited."""
    problems = [h for h in hits if h.type in pitfall_types and (h.role == "lead" or h.matched)][:3]
    if not problems:
        problems = [h for h in hits if h.type in pitfall_types][:1]
    if not problems:
        return "没有找到明确的陷阱,下面是文章里与你描述的情况最接近的内容。"
    names = [f"{h.title}[{h.rank}]" for h in problems]
    while True:
        if len(names) == 1:
            return f"主要问题是:{names[0]}。"
        line = f"主要是{'两' if len(names) == 2 else '三'}个问题:" + "；".join(names) + "。"
        if len(line) <= BRIEF_CHARS:
            return line
        names.pop()  # the least of them goes back to the list below


def explain_link(lead_title: str, *, fixes: bool) -> str:
    if fixes:
        return f"解决「{lead_title}」的做法"
    return f"与「{lead_title}」讲的是同一点"


def explain_match(evidence: Evidence | None) -> str:
    if evidence is None or not evidence.text:
        return "与该条的描述相近"
    return f"与{_FIELD_LABELS.get(evidence.field, '内容')}「{evidence.text}」相近"


def explain_context(evidence: Evidence | None) -> str:
    return "不是陷阱,但文章这样讲到你描述的情况:" + explain_match(evidence)
