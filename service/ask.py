"""Ask's policy: whether the knowledge base can answer, and which ranked principles answer, in what order.

Over the same ranked candidates as search and diagnose: a list question ("分哪几步") whose list is plainly
the topic gets the whole list in order; otherwise the best hit leads, followed by what it points to (the
members of a short list it introduces, the same point in other articles).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from service import answer
from service.confidence import Judge
from service.hits import to_hit, to_link
from service.models import AskRequest, AskResponse, GroupInfo, Hit, Role
from service.normalize import normalize_text
from service.query import Query
from service.retrieval import Ranked, Retrieval, Signals, Variant
from service.served import LINK_SHARE, Encode, Served

__all__ = ["ASK_POOL", "ask", "is_list_question"]

# ask's candidate pool: deep enough that a whole list group is usually inside it
ASK_POOL = 30
# a list question gets the whole list only if the list's title is this close to the question, both
# encoded by the query encoder: the base model puts the lists people ask for at 0.89-0.97 and others up
# to 0.77; the adapted one spreads them apart (0.70-0.97 against at most 0.66 on the tests' questions)
LIST_TITLE_MIN_COSINE = {"base": 0.80, "adapted": 0.68}
# a list this short is read as a whole: when ask's best hit introduces it, its members follow
SHORT_LIST = 6
# closest covered topics offered when a question is not covered
SUGGESTIONS = 3
# a clause shorter than this (normalised characters) is not judged on its own for `partial`
MIN_JUDGED_CLAUSE = 6

# "分哪几步 / 有哪些 / 几类 / 包括什么" ask for a whole list, not the single best passage
_LIST_QUESTION = re.compile(
    r"(哪几|哪些|几个|几种|几类|几步|几点|多少个|多少种|分为|分成|包括什么|包含什么|有什么(类型|角色|步骤|方法|要素)"
    r"|都有什么|列出|步骤|流程是什么|分别是)"
)


def is_list_question(question: str) -> bool:
    return bool(_LIST_QUESTION.search(question))


def ask(req: AskRequest, query: Query, served: Served, variant: Variant = "fused") -> AskResponse:
    """`query` is the question with its clauses encoded when it has several (confidence reads them)."""
    retrieval, judge, encode = served.retrieval, served.judge, served.encode
    catalog = retrieval.catalog
    signals = retrieval.signals(query)
    ranked = retrieval.rank(signals, catalog.mask(), max(ASK_POOL, req.k), variant)
    conf = judge.probability("ask", query, retrieval, signals) if ranked else 0.0
    covered, uncovered = _judge_clauses(query, retrieval, judge)
    # a question of several parts is answered when one part is covered, even if the whole reads as
    # out of scope ("群里全是广告怎么办,另外运营工资多少"); the parts not covered are named
    if not ranked or not (judge.covers(conf) or covered):
        suggestions = [to_link(r.principle) for r in ranked[:SUGGESTIONS]]
        return AskResponse(
            question=req.question,
            answered=False,
            coverage="not_covered",
            confidence=conf,
            brief=answer.NOT_COVERED_BRIEF,
            answer=answer.no_answer([s.title for s in suggestions]),
            suggestions=suggestions,
            hits=[],
        )
    by_id = {r.principle.id: r for r in ranked}
    min_cosine = LIST_TITLE_MIN_COSINE[served.encoder_kind]
    group = (
        _list_group(query, ranked, retrieval, encode, min_cosine) if is_list_question(req.question) else None
    )
    if group is not None:
        members = catalog.members[group.id]
        # the whole list, in order, even members ranked outside the pool, at the best member's score
        best = max((by_id[p.id].score for p in members if p.id in by_id), default=0.0)
        lead = [retrieval.placed(signals, p.id, best) for p in members]
        lead += [by_id[o] for o in group.overviews if o in by_id]
        lead_ids = {r.principle.id for r in lead}
        rest = [r for r in ranked if r.principle.id not in lead_ids]
        member_ids = {p.id for p in members}
        # k is honoured: a longer list comes back cut, and says so (total, truncated)
        hits = [
            to_hit(
                r,
                n,
                "member" if r.principle.id in member_ids else "context",
                score=retrieval.own_score(signals, r.principle.id),
            )
            for n, r in enumerate([*lead, *rest][: req.k], 1)
        ]
        total, truncated = len(members), len(members) > req.k
        composed = answer.compose_list_answer(group, members, [h.id for h in hits])
    else:
        top = follow_lead(ranked, req.k, retrieval, signals)
        chosen = [r.principle for r in top[:3] if r.score >= top[0].score * 0.6]
        hits = _describe(top, req.k, retrieval, signals)
        total, truncated = None, False
        # the members of the short list the lead introduces, as they follow it
        listed = [(h.title, h.rank) for h in hits if h.role == "member" and h.linked_from == hits[0].id]
        size = len(_followers(top[0], retrieval)[0]) if listed else 0
        composed = answer.compose_answer(chosen, catalog.types_where("advice_in_answer"), listed, size)
    # what the cited principles lack, unless the brief already says it
    unsaid = [h for h in hits if h.missing and h.missing not in composed.brief]
    notes = [answer.missing_notes(unsaid), answer.partly_covered(uncovered) if uncovered else ""]
    text = "\n".join([composed.answer, *(n for n in notes if n)])
    return AskResponse(
        question=req.question,
        answered=True,
        coverage="partial" if uncovered else "answered",
        confidence=conf,
        brief=composed.brief,
        answer=text,
        uncovered=uncovered,
        total=total,
        truncated=truncated,
        hits=hits,
    )


def _judge_clauses(query: Query, retrieval: Retrieval, judge: Judge) -> tuple[int, list[str]]:
    """How many clauses of a several-part question the articles cover, each judged alone, and the
    text of those they do not. When none is covered on its own, nothing is listed: the question is
    then judged as a whole."""
    covered, out = 0, []
    for clause in query.clauses:
        if len(clause.normalized) < MIN_JUDGED_CLAUSE:
            continue
        if judge.covers(judge.probability("ask", clause, retrieval, retrieval.signals(clause))):
            covered += 1
        else:
            out.append(clause.text)
    return covered, out if covered else []


def candidate_groups(
    ranked: Sequence[Ranked], groups_of: Mapping[str, list[GroupInfo]], top: int = 5
) -> list[GroupInfo]:
    """Lists the top hits introduce or belong to, in rank order: the lists the question may be about."""
    out: list[GroupInfo] = []
    for r in ranked[:top]:
        out += [g for g in groups_of[r.principle.id] if g not in out]
    return out


def _list_group(
    query: Query, ranked: Sequence[Ranked], retrieval: Retrieval, encode: Encode, min_cosine: float
) -> GroupInfo | None:
    """Of the lists the top hits point to, the one whose title is closest to the question."""
    candidates = candidate_groups(ranked, retrieval.catalog.groups_of)
    if not candidates:
        return None
    titles = encode([normalize_text(g.title) for g in candidates])
    sims = titles @ query.vector
    best = int(np.argmax(sims))
    # a list answer replaces the ranked hits, so take it only when the list is plainly the topic
    return candidates[best] if sims[best] >= min_cosine else None


def _describe(top: Sequence[Ranked], k: int, retrieval: Retrieval, signals: Signals) -> list[Hit]:
    """`follow_lead`'s ranking as hits that say why each is there, each with its own fused score."""
    if not top:
        return []
    lead = top[0]
    members, linked = _followers(lead, retrieval)
    placed = set(list(dict.fromkeys(members + linked))[: (k + 1) // LINK_SHARE])
    hits = [to_hit(lead, 1, "lead")]
    for n, r in enumerate(top[1:], 2):
        pid = r.principle.id
        if pid in placed:
            role: Role = "member" if pid in members else "linked"
            hits.append(to_hit(r, n, role, lead.principle.id, retrieval.own_score(signals, pid)))
        else:
            hits.append(to_hit(r, n, "context"))
    return hits


def _followers(lead: Ranked, retrieval: Retrieval) -> tuple[list[str], list[str]]:
    """What the best hit points to: the members of a short list it introduces, then the same point in
    other articles (ids, without the lead itself)."""
    catalog = retrieval.catalog
    introduced = [g for g in catalog.groups_of[lead.principle.id] if lead.principle.id in g.overviews]
    group = next((g for g in introduced if (g.size or 0) <= SHORT_LIST), None)
    members = [p.id for p in catalog.members[group.id]] if group else []
    linked = [i for i in lead.principle.related if i not in members]
    return [i for i in members if i != lead.principle.id], [i for i in linked if i != lead.principle.id]


def follow_lead(ranked: Sequence[Ranked], k: int, retrieval: Retrieval, signals: Signals) -> list[Ranked]:
    """The top k, where the best hit is followed by what it points to, at most a third of k in all:
    - the members of a short list it introduces (社群内容分三类, 广告的三种疏导办法): the question is about
      the list even when not phrased as "有哪些";
    - then the principles making the same point in another article: a question rarely cares which
      article says it.
    Followers carry the best hit's score: they are placed by the link, not by their own rank."""
    if not ranked:
        return []
    lead = ranked[0]
    cap = (k + 1) // LINK_SHARE
    members, linked = _followers(lead, retrieval)
    follow_ids = list(dict.fromkeys([*members, *linked]))[:cap]
    follow = [retrieval.placed(signals, i, lead.score) for i in follow_ids]
    return [lead, *follow, *(r for r in ranked[1:] if r.principle.id not in follow_ids)][:k]
