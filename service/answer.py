"""The wording of answers and diagnoses: sentences, list answers, why a hit is there. Nothing here ranks
or chooses; service/ask.py and service/diagnose.py decide what is said, this module says it."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from service.models import GroupInfo, Principle
from service.retrieval import Evidence

__all__ = [
    "NOT_A_SITUATION",
    "NO_ANSWER",
    "compose_answer",
    "compose_list_answer",
    "explain_context",
    "explain_link",
    "explain_match",
    "no_answer",
    "partly_covered",
]

NO_ANSWER = (
    "知识库里没有能回答这个问题的内容。本知识库只收录社群运营方面的原则(定位、内容、人员管理、SOP、常见陷阱等),"
    "请换个与社群运营相关的问法。"
)
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
    "title": "标题",
    "summary": "要点",
    "advice": "应对建议",
    "keyword": "关键词",
    "passage": "原文",
}


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
        if p.id in cited:
            lines.append(f"{i}. {_sentence(p, cited.index(p.id) + 1, with_advice=False)}")
        else:  # beyond k: named, not cited
            lines.append(f"{i}. {p.title}")
    return "\n".join(lines)


def compose_answer(chosen: Sequence[Principle], with_advice: Collection[str] = ()) -> str:
    """How/why questions: the best principle with its advice, then the others that also bear on it
    (with their advice too when their type is in `with_advice`)."""
    lines = [_sentence(p, n, with_advice=(n == 1 or p.type in with_advice)) for n, p in enumerate(chosen, 1)]
    if len(lines) == 1:
        return lines[0]
    return lines[0] + "\n另外:\n" + "\n".join(f"- {line}" for line in lines[1:])


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
