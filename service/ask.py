"""Ask's policy: whether the knowledge base can answer, and which ranked principles answer, in what order.

Over the same ranked candidates as search and diagnose: a list question ("分哪几步") whose list is plainly
the topic gets the whole list in order; otherwise the best hit leads, followed by what it points to (the
members of a short list it introduces, the same point in other articles).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from service import answer
from service.embedder import Vectors
from service.hits import to_hit
from service.models import AskRequest, AskResponse, GroupInfo
from service.normalize import normalize_text
from service.query import Query
from service.retrieval import DenseRetriever, Ranked, Retrieval, Signals, Variant
from service.settings import Settings

__all__ = ["ASK_POOL", "LINK_SHARE", "AskFeatures", "ask", "confidence", "is_list_question"]

# ask's candidate pool: deep enough that a whole list group is usually inside it
ASK_POOL = 30
# a list question gets the whole list only if the list's title is this close to the question
LIST_TITLE_MIN_COSINE = 0.80
# a list this short is read as a whole: when ask's best hit introduces it, its members follow
SHORT_LIST = 6
# the best hit's followers take at most (k + 1) // LINK_SHARE places (diagnose's links take the same share)
LINK_SHARE = 3
# the signal whose values are cosines, which the threshold was calibrated on
COSINE = DenseRetriever.name

# "分哪几步 / 有哪些 / 几类 / 包括什么" ask for a whole list, not the single best passage
_LIST_QUESTION = re.compile(
    r"(哪几|哪些|几个|几种|几类|几步|几点|多少个|多少种|分为|分成|包括什么|包含什么|有什么(类型|角色|步骤|方法|要素)"
    r"|都有什么|列出|步骤|流程是什么|分别是)"
)

Encode = Callable[[Sequence[str]], Vectors]  # normalised texts -> unit vectors (the query encoder)


def is_list_question(question: str) -> bool:
    return bool(_LIST_QUESTION.search(question))


@dataclass(frozen=True)
class AskFeatures:
    """What confidence reads: the best cosine of the question (or one of its clauses) to any
    principle, and the share of its words the corpus uses. A learned model would read these too."""

    best_cosine: float
    coverage: float


def features(query: Query, ranked: Sequence[Ranked], retrieval: Retrieval) -> AskFeatures:
    """Embedding similarity alone lets "怎么做短视频剪辑" look as close as a real question, so the share
    of the question's words the articles use is added in. A long question dilutes its own embedding,
    so each clause is compared too and the closest counts."""
    best = max((r.signal(COSINE) or -1.0) for r in ranked)
    for clause in query.clauses:
        best = max(best, float(retrieval.signals(clause, [COSINE])[COSINE].values.max()))
    return AskFeatures(best, retrieval.coverage(query))


def confidence(f: AskFeatures, settings: Settings) -> float:
    return round(f.best_cosine + settings.coverage_weight * f.coverage, 4)


def ask(
    req: AskRequest,
    query: Query,
    retrieval: Retrieval,
    encode: Encode,
    settings: Settings,
    variant: Variant = "fused",
) -> AskResponse:
    """`query` is the question with its clauses encoded when it has several (confidence reads them)."""
    catalog = retrieval.catalog
    signals = retrieval.signals(query)
    ranked = retrieval.rank(signals, catalog.mask(), max(ASK_POOL, req.k), variant)
    conf = confidence(features(query, ranked, retrieval), settings) if ranked else 0.0
    if conf < settings.answer_threshold:
        return AskResponse(
            question=req.question, answered=False, confidence=conf, answer=answer.NO_ANSWER, hits=[]
        )
    by_id = {r.principle.id: r for r in ranked}
    group = _list_group(query, ranked, retrieval, encode) if is_list_question(req.question) else None
    if group is not None:
        members = catalog.members[group.id]
        # the whole list, in order, even members ranked outside the pool, at the best member's score
        best = max((by_id[p.id].score for p in members if p.id in by_id), default=0.0)
        lead = [retrieval.placed(signals, p.id, best) for p in members]
        lead += [by_id[o] for o in group.overviews if o in by_id]
        lead_ids = {r.principle.id for r in lead}
        rest = [r for r in ranked if r.principle.id not in lead_ids]
        hits = [to_hit(r) for r in [*lead, *rest][: max(req.k, len(members))]]
        text = answer.compose_list_answer(group, members, [h.id for h in hits])
    else:
        top = follow_lead(ranked, req.k, retrieval, signals)
        chosen = [r.principle for r in top[:3] if r.score >= top[0].score * 0.6]
        hits = [to_hit(r) for r in top]
        text = answer.compose_answer(chosen, with_advice=catalog.types_where("advice_in_answer"))
    return AskResponse(question=req.question, answered=True, confidence=conf, answer=text, hits=hits)


def candidate_groups(
    ranked: Sequence[Ranked], groups_of: Mapping[str, list[GroupInfo]], top: int = 5
) -> list[GroupInfo]:
    """Lists the top hits introduce or belong to, in rank order: the lists the question may be about."""
    out: list[GroupInfo] = []
    for r in ranked[:top]:
        out += [g for g in groups_of[r.principle.id] if g not in out]
    return out


def _list_group(
    query: Query, ranked: Sequence[Ranked], retrieval: Retrieval, encode: Encode
) -> GroupInfo | None:
    """Of the lists the top hits point to, the one whose title is closest to the question."""
    candidates = candidate_groups(ranked, retrieval.catalog.groups_of)
    if not candidates:
        return None
    titles = encode([normalize_text(g.title) for g in candidates])
    sims = titles @ query.vector
    best = int(np.argmax(sims))
    # a list answer replaces the ranked hits, so take it only when the list is plainly the topic
    return candidates[best] if sims[best] >= LIST_TITLE_MIN_COSINE else None


def follow_lead(ranked: Sequence[Ranked], k: int, retrieval: Retrieval, signals: Signals) -> list[Ranked]:
    """The top k, where the best hit is followed by what it points to, at most a third of k in all:
    - the members of a short list it introduces (社群内容分三类, 广告的三种疏导办法): the question is about
      the list even when not phrased as "有哪些";
    - then the principles making the same point in another article: a question rarely cares which
      article says it.
    Followers carry the best hit's score: they are placed by the link, not by their own rank."""
    if not ranked:
        return []
    catalog = retrieval.catalog
    lead = ranked[0]
    cap = (k + 1) // LINK_SHARE
    introduced = [g for g in catalog.groups_of[lead.principle.id] if lead.principle.id in g.overviews]
    group = next((g for g in introduced if (g.size or 0) <= SHORT_LIST), None)
    members = [p.id for p in catalog.members[group.id]] if group else []
    linked = dict.fromkeys([*members, *lead.principle.related])
    follow_ids = [i for i in linked if i != lead.principle.id][:cap]
    follow = [retrieval.placed(signals, i, lead.score) for i in follow_ids]
    return [lead, *follow, *(r for r in ranked[1:] if r.principle.id not in follow_ids)][:k]
