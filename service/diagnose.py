"""Diagnose's policy: which pitfalls a described situation is in, why each matched, what to read next.

The list is built over the same ranked candidates as search and ask:
1. every principle ranked against the whole situation by its own fused score, pitfalls and the rest
   alike: many situations are answered by a practice or a description as much as by a pitfall, and a
   hard filter to pitfalls cost a tenth of nDCG@10 on our tuning set (0.67 against 0.77) and on dev;
2. for a situation of several clauses, that ranking fused (reciprocal rank) with the rankings of its
   parts: each clause, and each run of three consecutive clauses (a problem usually spans a few
   clauses; a clause alone is often a fragment), so that every problem of a long situation brings its
   own best principles up instead of the whole text's mixture deciding alone (our tuning set's
   diagnose nDCG@10 0.653 -> 0.684, its multi-problem situations 0.51 -> 0.58). It replaces the
   guarantee the single-signal ablations (`scripts/eval.py --variant`) still give each clause's own
   best pitfall;
3. right after the lead, what it links to: the same point in another article, then the practices that
   fix it (at most a third of k).
`pitfalls_only` keeps pitfalls alone, ranked, with each clause's own. "Pitfall" means the types flagged
`diagnosed` in corpus/types.yaml.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service import answer
from service.catalog import BoolArray
from service.hits import to_hit, to_link
from service.models import DiagnoseHit, DiagnoseRequest, DiagnoseResponse, Match, Role
from service.query import Query
from service.retrieval import Ranked, Ranking, Signals, Variant
from service.served import COSINE, LINK_SHARE, Served

__all__ = ["diagnose"]

# a clause counts as describing a pitfall only this close (cosine) to one of its texts. The adapted query
# encoder puts queries lower against the base model's document vectors: its threshold lets through the
# same share (75 %) of the clauses of our in-scope calibration situations as 0.80 does with the base one
CLAUSE_MIN_COSINE = {"base": 0.80, "adapted": 0.60}
# how many pitfalls one clause may name
CLAUSE_PITFALLS = 2
# Per-problem fusion (step 1), chosen on our tuning set's diagnose queries (flat within 0.01 over
# weights 2-3, constants 1-3, cosines 0.5-0.6; a filter to parts naming a principle the whole text
# does not already rank in its top 3 or 5 lost 0.03-0.07): the whole text's ranking weighs
# as much as PART_WEIGHT parts; rank r of a ranking scores weight / (PART_RRF_K + r); a part counts
# only if some text of a principle is this close to it (a filler clause points nowhere); each part
# contributes its PART_TOP best principles, the whole its WHOLE_TOP
PART_WEIGHT = 2.0
PART_RRF_K = 3
PART_MIN_COSINE = 0.5
PART_TOP = 3
WHOLE_TOP = 50
PART_CLAUSES = 3


def diagnose(
    req: DiagnoseRequest, query: Query, served: Served, variant: Variant = "fused"
) -> DiagnoseResponse:
    """`query` is the situation with every clause encoded."""
    retrieval, judge = served.retrieval, served.judge
    catalog = retrieval.catalog
    pitfalls = catalog.mask(types=catalog.types_where("diagnosed"))
    whole = retrieval.signals(query)
    conf = judge.probability("diagnose", query, retrieval, whole)
    if not judge.covers(conf):
        return DiagnoseResponse(
            situation=req.situation, answered=False, confidence=conf, message=answer.NOT_A_SITUATION, hits=[]
        )
    candidates = pitfalls if req.pitfalls_only else catalog.mask()
    clause_signals = [retrieval.signals(clause) for clause in query.clauses]
    matched: dict[str, list[tuple[float, Match, Ranked]]] = {}
    clause_best: list[str] = []
    for clause, signals in zip(query.clauses, clause_signals, strict=True):
        assert clause.span is not None
        ranked = retrieval.rank(signals, pitfalls, CLAUSE_PITFALLS, variant)
        strong = [r for r in ranked if (r.signal(COSINE) or 0.0) >= CLAUSE_MIN_COSINE[served.encoder_kind]]
        for r in strong:
            matched.setdefault(r.principle.id, []).append((r.signal(COSINE) or 0.0, clause.span, r))
        if strong and len(query.clauses) > 1:
            clause_best.append(strong[0].principle.id)

    k = req.k
    ranking = retrieval.ranking(whole, candidates, variant)
    fused: list[str] | None = None
    if variant == "fused" and len(query.clauses) > 1:
        parts = [*clause_signals, *(retrieval.signals(w) for w in query.windows(PART_CLAUSES))]
        fused = _fuse_parts(ranking.ids(WHOLE_TOP), parts, served, candidates)
    head = fused if fused is not None else ranking.ids(1)
    links: list[str] = []
    if head and not req.pitfalls_only:
        lead = catalog.by_id[head[0]]
        # places left once the lead and every clause's own pitfall are counted
        spare = k - 1 - len(set(clause_best) - {lead.id})
        links = [i for i in dict.fromkeys([*lead.related, *lead.fixed_by]) if i != lead.id]
        links = links[: max(0, min((k + 1) // LINK_SHARE, spare))]
    if fused is not None:
        # the parts' fusion already brings each clause's best principles up; reserving places for its
        # pitfalls on top cost a hundredth of nDCG@10 on our tuning set (0.684 with the links alone)
        order = [i for i in fused if i not in links][: k - len(links)]
    else:
        order = _guarantee(ranking, set(links), [i for i in clause_best if i not in links], k - len(links))
    if links:
        order = [order[0], *links, *order[1:]]

    hits: list[DiagnoseHit] = []
    for pid in order:
        p = catalog.by_id[pid]
        clause_hits = sorted(matched.get(pid, []), key=lambda x: -x[0])
        linked_from = hits[0].id if pid in links else None
        # every hit reports its own fused score, whatever placed it
        r = retrieval.placed(whole, pid, retrieval.own_score(whole, pid))
        if linked_from and not clause_hits:
            why = answer.explain_link(hits[0].title, fixes=pid in catalog.by_id[hits[0].id].fixed_by)
        else:  # ranked, or placed by a link but also named by a clause: its own words explain it
            evidence = (clause_hits[0][2] if clause_hits else r).evidence
            diagnosed = bool(pitfalls[catalog.position[pid]])
            why = answer.explain_match(evidence) if diagnosed else answer.explain_context(evidence)
        role: Role = "lead" if not hits else "linked" if linked_from else "context"
        hits.append(
            DiagnoseHit(
                **to_hit(r, len(hits) + 1, role, linked_from).model_dump(),
                matched=sorted((m for _, m, _ in clause_hits), key=lambda m: m.start),
                why=why,
                fixed_by=[to_link(catalog.by_id[i]) for i in p.fixed_by],
                related=[to_link(catalog.by_id[i]) for i in p.related],
            )
        )
    reading = answer.compose_reading(hits, catalog.types_where("diagnosed"))
    return DiagnoseResponse(
        situation=req.situation, answered=True, confidence=conf, reading=reading, hits=hits
    )


def _guarantee(ranking: Ranking, skip: set[str], required: list[str], k: int) -> list[str]:
    """The first k of the ranking without `skip`, with every id of `required` inside: missing ones
    replace the tail."""
    top = [i for i in ranking.ids(k + len(skip)) if i not in skip][:k]
    missing = [r for r in dict.fromkeys(required) if r not in top]
    if not missing:
        return top
    keep = [i for i in top if i in required]
    room = k - len(missing) - len(keep)
    others = [i for i in top if i not in required][: max(room, 0)]
    chosen = set(keep) | set(others) | set(missing[:k])
    return ranking.arrange(i for i in chosen if i not in skip)[:k]


def _fuse_parts(whole: list[str], parts: Sequence[Signals], served: Served, keep: BoolArray) -> list[str]:
    """The whole text's head (its WHOLE_TOP best) with each part's best principles fused in by
    reciprocal rank."""
    score: dict[str, float] = {}
    for r, pid in enumerate(whole[:WHOLE_TOP]):
        score[pid] = PART_WEIGHT / (PART_RRF_K + r)
    for signals in parts:
        if float(np.max(signals[COSINE].values)) < PART_MIN_COSINE:
            continue
        for r, pid in enumerate(served.retrieval.ranking(signals, keep).ids(PART_TOP)):
            score[pid] = score.get(pid, 0.0) + 1.0 / (PART_RRF_K + r)
    # sorted() is stable: ties keep the whole text's order
    fused = sorted(score, key=lambda pid: -score[pid])
    return fused
