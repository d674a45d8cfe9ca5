"""The knowledge base as a chat model (the OpenAI-compatible endpoint): which operation answers a
message, how a follow-up on the previous reply is resolved, and the markdown a person reads in a chat
window. The router only parses the request and renders the completion; everything said is decided here.

- The last user message is answered. `community-ops-kb` chooses per message (`choose_mode`): a described
  situation goes to diagnose, anything else to ask; `-ask` and `-diagnose` force one.
- Earlier turns serve one purpose: a short follow-up on a point of our previous reply ("第二点展开说说",
  "[3] 详细说说") is answered with that principle in full (`follow_up`), read off the previous reply's
  参考 list, which the client sends back with the conversation. System prompts are ignored.
- Replies cite [n] against their own 参考 list, each entry linking to the web UI's article view.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError

from service import answer
from service.errors import InputError, NotFoundError, UnknownModelError, describe_validation
from service.hits import short_quote
from service.links import article_link, principle_link
from service.models import (
    MAX_QUERY_CHARS,
    AskRequest,
    AskResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    Hit,
    LinkedPrinciple,
    Principle,
    SearchRequest,
)
from service.normalize import readable_text
from service.operations import Operations
from service.platforms.models import ChatMessage
from service.store.context import CallContext

__all__ = [
    "MODELS",
    "Mode",
    "Reply",
    "Turn",
    "characters",
    "choose_mode",
    "follow_up",
    "references",
    "render_ask",
    "render_diagnose",
    "render_principle",
    "respond",
    "turns_of",
]

Operation = Literal["ask", "diagnose"]
Mode = Literal["ask", "diagnose", "expand"]

# the models GET /v1/models lists, and the operation each forces (None: chosen per message)
MODELS: dict[str, Operation | None] = {
    "community-ops-kb": None,
    "community-ops-kb-ask": "ask",
    "community-ops-kb-diagnose": "diagnose",
}

# quotes in the 参考 list, in characters
QUOTE_CHARS = 40
# a follow-up is a short message; a longer one naming "第二点" is a question of its own
FOLLOW_UP_CHARS = 30
CLOSEST = 3


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


@dataclass(frozen=True)
class Reply:
    mode: Mode
    text: str


def turns_of(messages: Sequence[ChatMessage]) -> list[Turn]:
    """Each message's text: a string, or its text parts joined (images and other parts are ignored)."""
    out = []
    for m in messages:
        if isinstance(m.content, list):
            text = "\n".join(p.text for p in m.content if p.type == "text" and p.text)
        else:
            text = m.content or ""
        out.append(Turn(m.role, text))
    return out


# -- which operation answers ------------------------------------------------------------------------------

_FIRST_PERSON = re.compile(r"[我咱俺]")
_QUESTION = re.compile(
    r"[?？吗嗎呢]|怎么|怎麼|如何|为什么|為什麼|为啥|為啥|什么|什麼|啥|哪|几|幾|多少|是否|是不是|有没有|有沒有"
    r"|能不能|要不要|该不该|該不該"
)
_OPENS_WITH_QUESTION = re.compile(
    r"(怎么|怎麼|如何|为什么|為什麼|为啥|為啥|什么|什麼|哪|有没有|有沒有|是不是|要不要|能不能)"
)
# shorter than this without a question, a text is a topic ("群规怎么定" aside): "会员成长体系", "死群原因"
_TOPIC_CHARS = 12


def choose_mode(text: str) -> Operation:
    """diagnose for a described situation, ask for anything else. A situation is told, not asked: a
    statement of a sentence's length, or a first-person account ("我们群…") even when it ends in a
    question; a text that opens with a question word, or a short topic, is a question. Longer than a
    question may be, it is a situation. On the labelled requests (eval/, corpus/calibration/) this agrees
    with the label 94 % of the time (scripts/mode_agreement.py); the rest are told-and-asked texts either
    operation answers."""
    text = text.strip()
    if len(text) > MAX_QUERY_CHARS:
        return "diagnose"
    if not _QUESTION.search(text):
        return "diagnose" if len(text) >= _TOPIC_CHARS else "ask"
    if _OPENS_WITH_QUESTION.match(text):
        return "ask"
    return "diagnose" if _FIRST_PERSON.search(text) else "ask"


# -- follow-ups on the previous reply ---------------------------------------------------------------------

_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_POINT = re.compile(
    r"第\s*([0-9]{1,2}|[一二两兩三四五六七八九十]{1,3})\s*(?:点|點|条|條|个|個|项|項|部分)|\[(\d{1,2})\]"
)
_EXPAND = re.compile(
    r"展开|展開|详细|詳細|具体|具體|细说|細說|多说|多說|说说|說說|讲讲|講講|解释|解釋|什么意思|什麼意思|怎么做|怎麼做"
)
_FILLER = re.compile(r"[\s?？。.!！,，、请請再能把可以吗嗎呢吧啊一下这這那个個点點的]")
# characters a follow-up may say beside those
FOLLOW_UP_REST = 4
# a 参考 entry: "- [n] [label](url)"
_REFERENCE = re.compile(r"^- \[(\d+)\] \[(?:[^\]\\]|\\.)*\]\((\S+?)\)", re.MULTILINE)


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    if token == "十":
        return 10
    if token.startswith("十"):
        return 10 + _DIGITS.get(token[1:], 0) if len(token) == 2 else None
    if len(token) == 1:
        return _DIGITS.get(token)
    if len(token) == 2 and token.endswith("十"):
        return _DIGITS.get(token[0], 0) * 10 or None
    if len(token) == 3 and token[1] == "十":
        return _DIGITS.get(token[0], 0) * 10 + _DIGITS.get(token[2], 0) or None
    return None


def _principle_of(url: str) -> str | None:
    """The principle a reference links to: `p=` of an article link, or a principle page's id."""
    fragment = urlsplit(url).fragment
    path, _, query = fragment.partition("?")
    if path.startswith("/principle/"):
        return unquote(path.removeprefix("/principle/")) or None
    ids = parse_qs(query).get("p")
    return ids[0] if ids else None


def references(reply: str) -> dict[int, str]:
    """The principle ids of a reply's 参考 list, by their [n]."""
    out: dict[int, str] = {}
    for m in _REFERENCE.finditer(reply):
        pid = _principle_of(m.group(2))
        if pid:
            out.setdefault(int(m.group(1)), pid)
    return out


def follow_up(text: str, previous: str | None) -> str | None:
    """The principle a short follow-up asks about ("第二点展开说说": [2] of the previous reply), or None."""
    text = text.strip()
    if previous is None or len(text) > FOLLOW_UP_CHARS:
        return None
    m = _POINT.search(text)
    if m is None:
        return None
    # what is left beside the point, the asking to expand and the filler words: a follow-up says little
    # else ("能把第二点再展开讲讲吗"); "社群定位的第二个步骤具体要做哪些准备" is a question of its own
    rest = _FILLER.sub("", _EXPAND.sub("", _POINT.sub("", text)))
    if not (rest == "" or (_EXPAND.search(text) and len(rest) <= FOLLOW_UP_REST)):
        return None
    n = _number(m.group(1) or m.group(2))
    return references(previous).get(n) if n else None


# -- markdown ---------------------------------------------------------------------------------------------


def _label(text: str) -> str:
    """Text inside a markdown link's brackets."""
    return re.sub(r"([\\\[\]])", r"\\\1", " ".join(text.split()))


def _reference(n: int, hit: Hit | Principle, base: str) -> str:
    s = hit.source
    link = article_link(base, s, hit.id)
    return f"- [{n}] [{_label(hit.title)}]({link}) 《{s.title}》「{short_quote(s.quote, QUOTE_CHARS)}」"


def _references(hits: Sequence[Hit | Principle], base: str) -> str:
    return "**参考**\n\n" + "\n".join(_reference(n, h, base) for n, h in enumerate(hits, 1))


def _closest(topics: Sequence[LinkedPrinciple], base: str) -> str:
    lines = [f"- [{n}] [{_label(t.title)}]({principle_link(base, t.id)})" for n, t in enumerate(topics, 1)]
    return "**知识库里相近的主题**\n\n" + "\n".join(lines)


def _advice(hit: Hit | Principle) -> str:
    label = answer.advice_label(hit) + ("(文章原话)" if hit.advice_source == "article" else "")
    return f"{label}:{hit.advice}"


def render_ask(resp: AskResponse, base: str) -> str:
    """The brief; each point by title with its summary and advice, cited [n]; what is not covered; the
    参考 list. Not covered: the refusal and the closest topics, linked."""
    if not resp.answered or not resp.hits:
        if not resp.suggestions:
            return resp.answer
        return answer.NO_ANSWER + "\n\n" + _closest(resp.suggestions, base)
    parts = [resp.brief]
    points = []
    for h in resp.hits:
        points.append(f"{h.rank}. **{h.title}** [{h.rank}]:{h.summary}")
        if h.advice:
            points.append(f"   - {_advice(h)}")
    parts.append("**要点**\n\n" + "\n".join(points))
    notes = [answer.missing_notes(resp.hits)]
    if resp.truncated and resp.total:
        notes.append(f"这份清单共{resp.total}项,这里列出前{len(resp.hits)}项。")
    if resp.uncovered:
        notes.append(answer.partly_covered(resp.uncovered))
    parts += [n for n in notes if n]
    parts.append(_references(resp.hits, base))
    return "\n\n".join(parts)


def render_diagnose(resp: DiagnoseResponse, base: str, closest: Sequence[LinkedPrinciple] = ()) -> str:
    """The reading; each pitfall with the words that matched, what to do and its fixes, cited [n]; the
    参考 list. Not a situation we cover: why, and the closest topics, linked."""
    if not resp.answered or not resp.hits:
        text = resp.message or answer.NOT_A_SITUATION
        return text + ("\n\n" + _closest(closest, base) if closest else "")
    items = []
    for h in resp.hits:
        items.append(f"{h.rank}. **{h.title}** [{h.rank}]")
        words = "、".join(f"「{m.text}」" for m in h.matched)
        items.append(f"   - {'对应你说的' + words + ':' if words else ''}{h.why}")
        if h.advice:
            items.append(f"   - {_advice(h)}")
        if h.fixed_by:
            items.append("   - 对应做法:" + "、".join(f.title for f in h.fixed_by))
    parts = [
        resp.reading or "",
        "\n".join(items),
        answer.missing_notes(resp.hits),
        _references(resp.hits, base),
    ]
    return "\n\n".join(p for p in parts if p)


def render_principle(p: Principle, base: str) -> str:
    """One principle in full, for a follow-up: summary, advice, symptoms, the whole cited passage."""
    parts = [f"**{p.title}** [1]", p.summary]
    if p.advice:
        parts.append(_advice(p))
    if p.symptoms:
        parts.append("常见表现:" + "；".join(p.symptoms))
    if p.missing:
        parts.append(f"注:{p.missing}")
    passage = "\n".join(f"> {line}" for line in readable_text(p.source.quote).splitlines() if line.strip())
    parts.append(f"原文(《{p.source.title}》):\n\n{passage}")
    parts.append(_references([p], base))
    return "\n\n".join(parts)


# -- answering --------------------------------------------------------------------------------------------


def _invalid(exc: ValidationError, where: str) -> InputError:
    return InputError(describe_validation(exc.errors(), prefix=f"{where}: "))


def respond(
    ops: Operations, turns: Sequence[Turn], model: str, base: str, ctx: CallContext | None = None
) -> Reply:
    """Answer the conversation's last user message with the model's operation (or the chosen one);
    `ctx` is the call the query log records it under (its request id is the reply's)."""
    if model not in MODELS:
        raise UnknownModelError(f"model: no model {model!r}; models: {', '.join(MODELS)}")
    forced = MODELS[model]
    last = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "user"), None)
    if last is None:
        raise InputError("messages: no user message to answer")
    text = turns[last].text
    where = f"messages.{last}.content"
    if forced is None:
        previous = next((t.text for t in reversed(turns[:last]) if t.role == "assistant"), None)
        pid = follow_up(text, previous)
        if pid is not None:
            try:
                return Reply("expand", render_principle(ops.get(pid), base))
            except NotFoundError:
                pass  # a reply from before a rebuild: answer the message itself
    if (forced or choose_mode(text)) == "ask":
        try:
            question = AskRequest(question=text)
        except ValidationError as exc:
            raise _invalid(exc, where) from exc
        return Reply("ask", render_ask(ops.ask(question, ctx=ctx), base))
    try:
        situation = DiagnoseRequest(situation=text)
    except ValidationError as exc:
        raise _invalid(exc, where) from exc
    resp = ops.diagnose(situation, ctx=ctx)
    return Reply("diagnose", render_diagnose(resp, base, [] if resp.answered else _closest_topics(ops, text)))


def _closest_topics(ops: Operations, text: str) -> list[LinkedPrinciple]:
    """Diagnose names no topics when it finds nothing; the closest principles are search's first hits."""
    try:
        found = ops.search(SearchRequest(query=text[:MAX_QUERY_CHARS], k=CLOSEST)).hits
    except ValidationError:  # the cut left only whitespace
        return []
    return [LinkedPrinciple(id=h.id, type=h.type, title=h.title) for h in found]


def characters(turns: Sequence[Turn]) -> int:
    """What `usage.prompt_tokens` counts: the characters of every message's text."""
    return sum(len(t.text) for t in turns)
