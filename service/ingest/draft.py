"""Assemble a draft in the curated format (corpus/CURATING.md) from an article's layout: junk, groups,
principles with quotes, a suggested type and written fields, each principle carrying `generated:`,
what the machine wrote and how sure it was, for the reviewer to check and then delete."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.ingest import fields as f
from service.ingest.classify import TypeClassifier
from service.ingest.junk import find_junk
from service.ingest.quotes import quote_span
from service.ingest.segment import Layout, segment_article
from service.ingest.text import clean_text
from service.models import TypeSpec

__all__ = ["LOW_CONFIDENCE", "DraftReport", "draft_article"]

LOW_CONFIDENCE = 0.5
Progress = Callable[[str], None]


@dataclass
class DraftReport:
    principles: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    groups: int = 0
    junk: int = 0
    low_confidence: list[str] = field(default_factory=list)  # ids whose type or boundary is unsure
    dropped: int = 0  # passages without a unique quote (repeated word for word)


# what a list's own title says its items are: the cue words of issue 14, checked before the classifier
_LIST_CUES = [
    ("pitfall", re.compile(r"误区|陷阱|坑|错误|致命|失败|问题|死掉|滥用")),
    ("element", re.compile(r"要素|维度")),
    ("role_type", re.compile(r"角色")),
    ("group_type", re.compile(r"群类型|社群类型|类型的群")),
    ("content_category", re.compile(r"内容.{0,6}[类种]|栏目")),
    ("positioning_step", re.compile(r"定位.{0,8}步|步.{0,8}定位")),
    ("rule", re.compile(r"群规|制度|规则")),
]
_NEGATIVE = re.compile(r"没有|缺乏|不做|不设|别|误|错|只有|盲目|过度|依赖|舍不得|当做|当作|当成|以为")


def _list_type(title: str, headings: list[str]) -> str | None:
    for name, cue in _LIST_CUES:
        if cue.search(clean_text(title)):
            return name
    negative = sum(bool(_NEGATIVE.search(clean_text(h))) for h in headings)
    return "pitfall" if headings and negative >= max(2, len(headings) / 2) else None


def _slug(prefix: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-") or "x"


def draft_article(
    text: str,
    doc: str,
    prefix: str,
    classifier: TypeClassifier,
    types: Sequence[TypeSpec],
    title: str | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], DraftReport, Layout]:
    say = progress or (lambda _: None)
    slug = _slug(prefix)
    say("junk")
    junk = find_junk(text)
    say("segments")
    layout = segment_article(text, junk)
    report = DraftReport(junk=len(junk))
    spec = {t.name: t for t in types}

    # quotes first: a segment that cannot be quoted uniquely is left out (and counted)
    quoted: dict[int, tuple[str, str | None]] = {}
    for k, s in enumerate(layout.segments):
        q = quote_span(text, s.start, s.end)
        if q is None:
            report.dropped += 1
        else:
            quoted[k] = q

    group_of: dict[int, int] = {}
    for g in layout.groups:
        for k in g.members:
            group_of[k] = g.index
    group_title = {g.index: clean_text(g.title) for g in layout.groups}
    say("types")
    items = []
    for s in layout.segments:
        ctx = group_title.get(s.group, "") if s.group is not None else ""
        items.append((text[s.start : s.end], ctx))
    guesses = classifier.predict(items, [g.members for g in layout.groups])

    heads: dict[int, list[str]] = {}
    for s in layout.segments:
        if s.group is not None and s.kind == "member" and s.heading is not None:
            heads.setdefault(s.group, []).append(s.heading)  # an item that lost its marker has none
    ids = {k: f"p{slug}-{n:02d}" for n, k in enumerate(sorted(quoted), 1)}
    groups_out: list[dict[str, Any]] = []
    group_ids: dict[int, str] = {}
    for g in layout.groups:
        members = [k for k in g.members if k in quoted]
        if len(members) < 2:
            continue
        gid = f"g{slug}-{len(groups_out) + 1}"
        group_ids[g.index] = gid
        overview = [ids[g.overview]] if g.overview is not None and g.overview in quoted else []
        groups_out.append(
            {"id": gid, "title": f.title_for(g.title, None), "ordered": True, "overviews": overview}
        )
    orders: dict[int, int] = {}
    for g in layout.groups:
        if g.index in group_ids:
            for n, k in enumerate((k for k in g.members if k in quoted), 1):
                orders[k] = n

    say("fields")
    # in how many of the article's passages each word occurs: what makes a keyword distinctive
    df: Counter[str] = Counter()
    for k in quoted:
        df.update(set(f.passage_words(text[layout.segments[k].start : layout.segments[k].end])))
    principles = []
    for k in sorted(quoted):
        s = layout.segments[k]
        passage = text[s.start : s.end]
        guess = guesses[k]
        type_ = guess.type
        gtitle = group_title.get(s.group, "") if s.group is not None else ""
        listed = (
            _list_type(gtitle, heads.get(s.group, []) if s.group is not None else [])
            if s.kind == "member"
            else None
        )
        if listed is not None and listed in spec:
            type_ = listed  # the list says what its items are
        ptitle = f.title_for(passage, s.heading if s.kind == "member" else None)
        overview_of = next((g for g in layout.groups if g.overview == k and g.index in group_ids), None)
        p: dict[str, Any] = {"id": ids[k], "type": type_}
        if k in orders and s.group in group_ids:
            p["group"] = group_ids[s.group]
            p["order"] = orders[k]
        p["title"] = ptitle
        p["summary"] = f.summary_for(passage, ptitle)
        gen: dict[str, Any] = {
            "type": {"confidence": guess.confidence, "top3": [[t, c] for t, c in guess.top3]},
            "boundary": s.confidence,
            "title": "extractive: the item's heading" if s.kind == "member" else "extractive: first clause",
            "summary": "extractive: first sentences",
        }
        t = spec.get(type_)
        if t is not None and (t.advice_required or type_ == "pitfall"):
            advice, conf = f.advice_for(passage)
            p["advice"] = advice
            gen["advice"] = f"extractive, confidence {conf}"
        if t is not None and t.min_symptoms:
            symptoms, conf = f.symptoms_for(passage, ptitle)
            while len(symptoms) < t.min_symptoms:
                symptoms.append(f"遇到「{ptitle}」的情况({len(symptoms) + 1})")
            p["symptoms"] = symptoms
            gen["symptoms"] = (
                f"extractive or template, confidence {conf}: rewrite as an operator would say it"
            )
        size = len([m for m in overview_of.members if m in quoted]) if overview_of else 0
        keywords = f.keywords_for(passage, df=df, docs=len(quoted))
        p["questions"] = f.questions_for(type_, ptitle, overview_of is not None, size, keywords)
        gen["questions"] = "template"
        p["keywords"] = keywords
        gen["keywords"] = "extractive: the passage's distinctive words"
        frm, to = quoted[k]
        p["source"] = {"from": frm, "to": to} if to is not None else {"from": frm}
        p["generated"] = gen
        principles.append(p)
        report.by_type[type_] = report.by_type.get(type_, 0) + 1
        if guess.confidence < LOW_CONFIDENCE or s.confidence < LOW_CONFIDENCE:
            report.low_confidence.append(ids[k])
    junk_out = []
    for j in junk:
        q = quote_span(text, j.start, j.end)
        if q is not None:
            jq: dict[str, Any] = {"from": q[0]}
            if q[1] is not None:
                jq["to"] = q[1]
            jq["why"] = f"{j.why} (generated, confidence {j.confidence})"
            junk_out.append(jq)
    doc_title = title or (clean_text(text[slice(*layout.title_line)]) if layout.title_line else None)
    doc_title = doc_title or f.title_for(text, None)
    report.principles = len(principles)
    report.groups = len(groups_out)
    report.by_type = dict(Counter(p["type"] for p in principles))
    draft = {
        "doc": doc,
        "title": doc_title,
        "generated": {
            "note": "drafted by `kb add`: check each principle, then delete its `generated:` entry",
            "title": "given" if title else "extractive: the first line",
            "groups": {
                g["id"]: round(layout.groups[i].confidence, 2)
                for i, g in zip(group_ids, groups_out, strict=True)
            },
            "low_confidence": report.low_confidence,
        },
        "groups": groups_out,
        "junk": junk_out,
        "principles": principles,
    }
    return draft, report, layout
