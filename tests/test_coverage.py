"""Coverage of the curated knowledge: every list the articles state, with its size, and the single
principles the curation must contain. Counts come from the articles, not from the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.corpus import Corpus

ROOT = Path(__file__).resolve().parents[1] / "corpus"

GROUPS = {
    # group id: (member count, members' type, words the titles must contain, in order when ordered)
    "g000-traps": (12, "pitfall", []),
    "g001a-mistakes": (7, "pitfall", ["调研", "筛选", "规模", "活跃度", "时刻", "销售", "万物"]),
    "g001a-core-elements": (
        9,
        "element",
        ["机制", "用户", "内容", "互动", "关系", "体验", "数据", "渠道", "价值"],
    ),
    "g001a-positioning-steps": (3, "positioning_step", ["业务模型", "类型", "5W1H"]),
    "g001a-group-types": (4, "group_type", ["引流群", "转化群", "粉丝群", "快闪群"]),
    "g001b-content-steps": (3, "practice", ["分类", "包装", "栏目化"]),
    "g001b-content-categories": (3, "content_category", ["产品", "价值观", "互动"]),
    "g001b-org-roles": (3, "role_type", ["管家", "售前顾问", "售后客服"]),
    "g001b-member-roles": (4, "role_type", ["团宠", "意见领袖", "隐藏大佬", "骨干精英"]),
    "g001b-management-rules": (4, "rule", ["入群标准", "鼓励行为", "禁止行为", "奖惩"]),
    "g001b-ugc-incentives": (3, "practice", []),
    "g001b-stratification-purposes": (2, "practice", ["转化", "成本"]),
    "g002-fatal-problems": (3, "pitfall", ["机械", "广告", "持续的价值"]),
    "g002-ad-handling": (3, "rule", ["红包", "时间段", "广告帖"]),
    "g002-treat-groups": (4, "practice", ["私域", "临时群", "小群", "迭代"]),
    "g002-value-dimensions": (6, "element", []),
    "g003-misuses": (4, "pitfall", ["垃圾内容", "广告", "人脉", "活动"]),
    "g004-failures": (
        8,
        "pitfall",
        ["门槛", "定位", "价值观", "托", "共同知识", "拉人头", "有价值的内容", "活动"],
    ),
    "g004-enterprise-conditions": (4, "practice", ["使命", "简单", "收获感", "门槛"]),
}

SINGLES = {
    # the points issue 3 names outside the lists: id -> type
    "p000-long-term-core": "concept",
    "p001-failures-are-positioning": "concept",
    "p001-community-matrix": "concept",
    "p001-aidass-model": "concept",
    "p001-relationship-strength": "concept",
    "p001-rule-notice-benefit-first": "rule",
    "p001-ugc-growth-system": "practice",
    "p001-four-senses": "practice",
    "p001-sop-tables": "practice",
    "p001-user-stratification": "practice",
    "p001-community-for-users": "concept",
    "p002-value-shopping-group": "concept",
    "p002-value-paid-resource-group": "concept",
    "p002-dissolve-inactive": "practice",
    "p003-channel-bombing-mindset": "pitfall",
    "p003-marketing-only-dead-end": "concept",
    "p004-executive-member-traits": "role_type",
    "p004-community-is-costly": "concept",
    "p004-community-for-sales-volume": "pitfall",
    "p004-mass-line": "concept",
    "p004-community-is-a-stage": "concept",
    "p004-case-funiutang-fission": "case",
}

# the same point made in two articles: both exist and are linked
SAME_POINT = [
    ("p000-more-groups-not-bigger", "p001-bigger-not-better"),
    ("p000-overestimate-initiative", "p001-overestimate-activity"),
    ("p000-blind-start", "p001-not-everything-fits"),
    ("p001-no-entry-filter", "p004-no-entry-threshold"),
    ("p002-ad-only-groups", "p003-ads-and-selling-channel"),
]


@pytest.mark.parametrize("group_id", sorted(GROUPS))
def test_group_is_complete_and_in_order(corpus: Corpus, group_id: str) -> None:
    size, member_type, words = GROUPS[group_id]
    [group] = [g for g in corpus.groups if g.id == group_id]
    members = sorted((p for p in corpus.principles if p.group == group_id), key=lambda p: p.order or 0)
    assert (group.size, len(members)) == (size, size)
    assert {p.type for p in members} == {member_type}
    for p, word in zip(members, words, strict=False):
        assert word in p.title + p.summary, (p.id, word)
    assert group.overviews or group_id == "g002-treat-groups"  # that list has no introducing passage


def test_every_group_is_listed_here(corpus: Corpus) -> None:
    assert {g.id for g in corpus.groups} == set(GROUPS)


@pytest.mark.parametrize(("pid", "ptype"), sorted(SINGLES.items()))
def test_single_principles_exist(corpus: Corpus, pid: str, ptype: str) -> None:
    assert corpus.by_id()[pid].type == ptype


@pytest.mark.parametrize(("a", "b"), SAME_POINT)
def test_same_point_in_two_articles_is_linked(corpus: Corpus, a: str, b: str) -> None:
    by_id = corpus.by_id()
    assert b in by_id[a].related and a in by_id[b].related


def test_every_article_is_curated(corpus: Corpus) -> None:
    per_doc = {doc: sum(p.source.doc == doc for p in corpus.principles) for doc in corpus.raw}
    assert all(n >= 10 for n in per_doc.values()), per_doc


@pytest.mark.parametrize(
    ("doc", "junk"),
    [
        ("001_5b71ea1ae9638b37.txt", "欢迎分享,转载请注明来源"),
        ("001_5b71ea1ae9638b37.txt", "本文原创发布于人人都是产品经理"),
        ("004_8290fcecfd6f0502.txt", "以下是喜马拉雅主播"),
        ("004_8290fcecfd6f0502.txt", "迎风学社社群是不是传销销"),
        ("000_8a13e7523ba96b1d.txt", "本文链接"),
    ],
)
def test_known_junk_is_declared_and_never_cited(corpus: Corpus, doc: str, junk: str) -> None:
    at = corpus.raw[doc].index(junk)
    assert any(s <= at < e for s, e in corpus.junk[doc])
    assert not any(p.source.start <= at < p.source.end for p in corpus.principles if p.source.doc == doc)


def test_summaries_are_clean_simplified_chinese(corpus: Corpus) -> None:
    noise = ["告白", "勾当", "仩", "鈳", "镓", "們", "廣", "運營", "數據", "伴侣圈"]
    for p in corpus.principles:
        text = p.title + p.summary + (p.advice or "") + "".join(p.symptoms)
        assert not [w for w in noise if w in text], p.id
        assert "(shù)" not in text
