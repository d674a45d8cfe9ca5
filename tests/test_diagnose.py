"""diagnose on the real model: multi-problem situations, links after the lead, other passages by rank."""

from __future__ import annotations

from service.kb import KnowledgeBase
from service.models import DiagnoseRequest, SearchRequest


def test_diagnose_surfaces_every_problem_of_a_paragraph(kb: KnowledgeBase) -> None:
    situation = (
        "老板要求群越多越好,一个月建了几十个群;现在群里全是广告,正经消息没人看;"
        "我每天的工作就是按话术模板回复消息。"
    )
    resp = kb.diagnose(DiagnoseRequest(situation=situation, k=6))
    ids = [h.id for h in resp.hits]
    assert {"p000-more-groups-not-bigger", "p001-bigger-not-better"} & set(ids)
    assert {"p002-ad-only-groups", "p003-ads-and-selling-channel"} & set(ids)
    assert {"p002-mechanical-push", "p000-ops-as-customer-service"} & set(ids)
    for h in resp.hits:
        # every pitfall says what to do (a concept ranked beside them may only explain)
        assert h.advice or h.type != "pitfall"
        for m in h.matched:
            assert situation[m.start : m.end] == m.text


def test_diagnose_follows_the_leading_pitfall_with_what_it_links_to(kb: KnowledgeBase) -> None:
    # an operator whose boss measures the community by how many groups exist
    situation = "老板考核我们建了多少个群,现在已经五十多个群了,可每个群都冷冷清清"
    hits = kb.diagnose(DiagnoseRequest(situation=situation, k=10)).hits
    lead, linked = hits[0], [h for h in hits if h.linked_from]
    assert lead.type == "pitfall" and lead.linked_from is None and lead.matched
    assert linked and len(linked) <= (10 + 1) // 3
    assert hits[1 : 1 + len(linked)] == linked  # right behind the pitfall they belong to
    assert (lead.rank, lead.role) == (1, "lead") and [h.rank for h in hits] == list(range(1, 11))
    for h in linked:
        assert h.linked_from == lead.id and h.id in {x.id for x in [*lead.related, *lead.fixed_by]}
        assert h.role == "linked" and h.score != lead.score  # its own score, not the lead's
        assert h.matched or lead.title in h.why
    # the strict mode of the first version: pitfalls only, same leading pitfall
    strict = kb.diagnose(DiagnoseRequest(situation=situation, k=10, pitfalls_only=True)).hits
    assert strict[0].id == lead.id and {h.type for h in strict} == {"pitfall"}
    assert not any(h.linked_from for h in strict)


def test_diagnose_ranks_other_passages_beside_pitfalls_by_their_own_score(kb: KnowledgeBase) -> None:
    # a situation a practice or a description answers as well as a pitfall: members in too many groups
    situation = "我们品牌建了二十多个群,活动群、福利群、反馈群……同一批客户被拉进好几个群,谁也管不过来"
    hits = kb.diagnose(DiagnoseRequest(situation=situation, k=10)).hits
    ranked = [h for h in hits if not h.linked_from]
    # a situation of one clause is placed by its own score, never lifted out of that order (several
    # clauses fuse their parts' rankings: test_parts_of_a_long_situation_each_bring_their_problem)
    one = kb.diagnose(DiagnoseRequest(situation="同一批客户被我们拉进了好几个不同的群", k=10)).hits
    one_ranked = [h for h in one if not h.linked_from]
    assert [h.score for h in one_ranked] == sorted((h.score for h in one_ranked), reverse=True)
    others = [h for h in ranked if h.type != "pitfall"]
    assert others and all(h.role == "context" for h in others)
    for h in others:
        assert h.why.startswith("不是陷阱") and not h.matched  # clauses name pitfalls only
    assert not any(h.why.startswith("不是陷阱") for h in hits if h.type == "pitfall")
    # pitfalls_only: pitfalls alone, the ones ranked here among them
    strict = kb.diagnose(DiagnoseRequest(situation=situation, k=10, pitfalls_only=True)).hits
    assert {h.type for h in strict} == {"pitfall"} and not any(h.linked_from for h in strict)
    assert {h.id for h in ranked if h.type == "pitfall"} <= {h.id for h in strict}


def test_links_give_way_to_each_problem_of_a_long_situation(kb: KnowledgeBase) -> None:
    situation = (
        "老板要求群越多越好,一个月建了几十个群;现在群里全是广告,正经消息没人看;"
        "我每天的工作就是按话术模板回复消息。"
    )
    for k in (4, 5, 6):  # four clauses, each naming its own problem
        ids = [h.id for h in kb.diagnose(DiagnoseRequest(situation=situation, k=k)).hits]
        assert len(ids) == k
        assert {"p002-ad-only-groups", "p003-ads-and-selling-channel"} & set(ids), k
        assert {"p002-mechanical-push", "p000-ops-as-customer-service"} & set(ids), k


def test_diagnose_scores_are_each_hits_own(kb: KnowledgeBase) -> None:
    situation = "老板考核我们建了多少个群,现在已经五十多个群了,可每个群都冷冷清清"
    hits = kb.diagnose(DiagnoseRequest(situation=situation, k=10)).hits
    searched = {h.id: h.score for h in kb.search(SearchRequest(query=situation, k=50)).hits}
    # the same principle, the same words: the same fused score as an unfiltered search
    assert [h.score for h in hits if h.id in searched] == [searched[h.id] for h in hits if h.id in searched]
    assert sum(h.id in searched for h in hits) >= 8
    assert {h.role for h in hits[1:]} <= {"linked", "context"}


def test_parts_of_a_long_situation_each_bring_their_problem(kb: KnowledgeBase) -> None:
    # three problems in one rambling text: the whole text's ranking alone leads with the first and
    # buries the others; each part's own ranking fused in brings every one into the top 5
    situation = (
        "我们是做母婴的,去年一口气建了四十多个群,现在每个群都冷冷清清没人说话,"
        "然后就是群里隔三差五有人发微商广告,删都删不过来,"
        "还有老板天天问我群里的GMV,可我们进群根本没有任何门槛,谁扫码都能进"
    )
    fused = kb.diagnose(DiagnoseRequest(situation=situation, k=5)).hits
    ids = {h.id for h in fused}
    assert {"p000-more-groups-not-bigger", "p001-bigger-not-better", "p002-dissolve-inactive"} & ids
    assert {"p002-ad-only-groups", "p003-ads-and-selling-channel", "p002-ad-handling-overview"} & ids
    assert {"p004-no-entry-threshold"} & ids
    assert [h.rank for h in fused] == list(range(1, len(fused) + 1))
