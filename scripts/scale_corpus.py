"""Synthetic corpora at N times the real one, for scripts/bench_scale.py: `synthesise(src, dst, factor)`.

The real corpus is copy 0, unchanged (so the evaluation sets' gold spans still resolve and the original
queries can be scored). Copies 1..N-1 each hold one new article per real article and one new principle
per real principle, made from that principle's own texts so that every text differs from its source
while staying about the same thing:

- words swapped for their synonyms: the corpus's own (corpus/aliases.yaml: a canonical word and its
  Chinese aliases) and a short table of everyday ones below, each occurrence with probability 1/2;
- clauses of a sentence shuffled (two middle clauses swapped), with probability 1/3 per sentence;
- a sentence (or a list item) borrowed from another principle of the same type, with probability 1/4:
  copies blur into their neighbours as a real corpus's related playbooks do;
- lists (questions, symptoms, keywords, phrasings) subsampled (each item kept with probability 0.85,
  never below what the type requires);
- a text the rules left unchanged gets a neutral lead-in (其实, 一般来说 …) so that no text of a copy
  is its source's text: every copy text is encoded, nothing is a vector-cache hit.

Ids get a `-cNNN` suffix, groups, `related` and `fixed_by` point inside the copy, and each copy article
is synthesised from its principles' varied quotes (in the source's order, one paragraph each), so every
citation resolves; `advice_span` is dropped (the copy's advice is the curator's). The calibration
requests, types, repairs and aliases are the real ones.

`sources` in the returned map records, for each copy principle, its real principle: what the bench uses
to score a hit on a copy as a hit on its original ("family" scores), and to make 100x's vectors.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["COPY_SUFFIX", "Synthesised", "original_id", "synthesise"]

COPY_SUFFIX = re.compile(r"-c\d{3}$")

# everyday near-synonyms of the articles' vocabulary (each row one group)
SYNONYMS: list[tuple[str, ...]] = [
    ("社群", "社区", "圈子"),
    ("用户", "成员", "群友"),
    ("客户", "顾客"),
    ("运营", "经营"),
    ("活跃", "热闹"),
    ("内容", "素材"),
    ("很多", "不少", "许多"),
    ("需要", "得", "要"),
    ("方法", "办法", "法子"),
    ("问题", "毛病"),
    ("重要", "关键"),
    ("老板", "领导"),
    ("因为", "由于"),
    ("但是", "不过", "可是"),
    ("所以", "因此"),
    ("一定", "务必"),
    ("如果", "假如", "要是"),
    ("怎么", "如何"),
    ("进行", "开展"),
    ("目的", "目标"),
    ("价值", "意义"),
    ("效果", "成效"),
    ("时间", "时候"),
    ("产品", "商品"),
    ("活动", "项目"),
    ("分享", "交流"),
    ("群主", "管理员"),
    ("发布", "发出"),
    ("提升", "提高"),
    ("建立", "搭建"),
]
LEAD_INS = ["其实", "说到底", "简单讲", "一般来说", "从经验看", "很多时候", "换句话说", "总的来说"]
KEYWORD_TAILS = ["问题", "方法", "技巧", "误区", "怎么做", "案例"]
TITLE_TAGS = ["（要点）", "（经验）", "（复盘）", "（实操）", "（案例篇）", "（进阶）", "（入门）"]
_SENTENCE = re.compile(r"(?<=[。！？!?；;\n])")
_CLAUSE = re.compile(r"(?<=[，,])")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Synthesised:
    corpus: Path
    factor: int
    principles: int
    sources: dict[str, str]  # copy principle id -> its real principle's id


def original_id(principle_id: str) -> str:
    return COPY_SUFFIX.sub("", principle_id)


class _Varier:
    def __init__(self, aliases: list[dict[str, Any]]) -> None:
        groups = [list(g) for g in SYNONYMS]
        for entry in aliases:
            chinese = [a for a in entry["aliases"] if _CJK.search(a) and not a.isascii()]
            words = [w for w in str(entry["canonical"]).split() if w]
            if len(words) == 1 and chinese:
                groups.append([words[0], *chinese])
        self._alternatives: dict[str, list[str]] = {}
        for g in groups:
            for w in g:
                self._alternatives.setdefault(w, []).extend(o for o in g if o != w)
        # longest first, so 社群运营 is not cut into 社群 + 运营 before its own alternatives are tried
        self._pattern = re.compile(
            "|".join(sorted(map(re.escape, self._alternatives), key=len, reverse=True))
        )

    def words(self, text: str, rng: random.Random) -> str:
        def swap(m: re.Match[str]) -> str:
            w = m.group(0)
            return rng.choice(self._alternatives[w]) if rng.random() < 0.5 else w

        return self._pattern.sub(swap, text)

    def sentence(self, text: str, rng: random.Random) -> str:
        out = self.words(text, rng)
        parts = _CLAUSE.split(out)
        if len(parts) >= 4 and rng.random() < 1 / 3:
            j = rng.randrange(1, len(parts) - 2)
            a, b = parts[j].rstrip("，,"), parts[j + 1].rstrip("，,")
            parts[j], parts[j + 1] = b + "，", a + "，"
            out = "".join(parts)
        return out

    def passage(self, text: str, rng: random.Random, borrow: list[str]) -> str:
        sentences = [s for s in _SENTENCE.split(text) if s]
        # each sentence is indexed on its own (a passage's vectors are its sentences): each must differ
        out = [self.differ(self.sentence(s, rng), s, rng) if len(s.strip()) >= 6 else s for s in sentences]
        if borrow and rng.random() < 0.25:
            donor = [s for s in _SENTENCE.split(rng.choice(borrow)) if s.strip()]
            if donor:
                out.insert(rng.randrange(1, len(out) + 1), self.sentence(rng.choice(donor), rng))
        return "".join(out)

    def differ(self, text: str, source: str, rng: random.Random, title: bool = False) -> str:
        if text != source:
            return text
        if title:
            return text + rng.choice(TITLE_TAGS)
        lead = text[: len(text) - len(text.lstrip())]  # keep a paragraph's line break before the lead-in
        return lead + rng.choice(LEAD_INS) + "，" + text.lstrip()

    def keyword(self, word: str, rng: random.Random) -> str:
        out = self.words(word, rng)
        return out if out != word else word + rng.choice(KEYWORD_TAILS)


def _items(
    varier: _Varier, items: list[str], rng: random.Random, borrow: list[str], minimum: int
) -> list[str]:
    kept = [x for x in items if rng.random() < 0.85]
    for x in items:  # never below what the type requires (a pitfall needs two symptoms)
        if len(kept) >= min(minimum, len(items)):
            break
        if x not in kept:
            kept.append(x)
    out = [varier.differ(varier.sentence(x, rng), x, rng) for x in kept]
    if out and borrow and rng.random() < 0.25:
        donor = rng.choice(borrow)
        out[rng.randrange(len(out))] = varier.differ(varier.sentence(donor, rng), donor, rng)
    return out


def synthesise(src: Path, dst: Path, factor: int, seed: int = 26) -> Synthesised:
    """Write a corpus folder at `dst` holding the real corpus at `src` and `factor - 1` varied copies."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".kb-write.lock", "CURATING.md"))
    aliases = yaml.safe_load((src / "aliases.yaml").read_text(encoding="utf-8")) or []
    varier = _Varier(aliases)
    files = {
        p.name: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((src / "principles").glob("*.yaml"))
    }
    phrasings: dict[str, list[str]] = {}
    for p in sorted((src / "phrasings").glob("*.yaml")):
        phrasings.update(yaml.safe_load(p.read_text(encoding="utf-8")) or {})
    types = yaml.safe_load((src / "types.yaml").read_text(encoding="utf-8"))
    min_symptoms = {t["name"]: int(t.get("min_symptoms", 0)) for t in types}
    raw = {p.name: p.read_text(encoding="utf-8") for p in (src / "raw").glob("*.txt")}
    # what each type's principles say, for borrowing: field -> type -> texts
    pool: dict[str, dict[str, list[str]]] = {}
    for data in files.values():
        for p in data["principles"]:
            quote = _quote(raw[data["doc"]], p["source"])
            for name, texts in (
                ("summary", [p["summary"]]),
                ("advice", [p["advice"]] if p.get("advice") else []),
                ("quote", [quote]),
                ("questions", p.get("questions", [])),
                ("symptoms", p.get("symptoms", [])),
                ("phrasings", phrasings.get(p["id"], [])),
            ):
                pool.setdefault(name, {}).setdefault(p["type"], []).extend(texts)
    sources: dict[str, str] = {}
    count = sum(len(d["principles"]) for d in files.values())
    for c in range(1, factor):
        copy_phrasings: dict[str, list[str]] = {}
        for fname, data in files.items():
            new_file, new_raw, new_doc = _copy_file(data, raw, c, varier, pool, phrasings, min_symptoms, seed)
            for p in new_file["principles"]:
                sources[p["id"]] = original_id(p["id"])
                said = phrasings.get(original_id(p["id"]))
                if said:
                    rng = random.Random(f"{seed}:{c}:{p['id']}:phrasings")
                    borrow = pool["phrasings"].get(p["type"], [])
                    copy_phrasings[p["id"]] = _items(varier, said, rng, borrow, 1)
            stem = Path(fname).stem
            (dst / "raw" / new_doc).write_text(new_raw, encoding="utf-8")
            (dst / "principles" / f"{stem}c{c:03d}.yaml").write_text(_dump(new_file), encoding="utf-8")
            count += len(new_file["principles"])
        (dst / "phrasings" / f"zc{c:03d}.yaml").write_text(_dump(copy_phrasings), encoding="utf-8")
    return Synthesised(dst, factor, count, sources)


def _quote(text: str, span: dict[str, str]) -> str:
    start = text.index(span["from"])
    end = (
        text.index(span["to"], start + len(span["from"])) + len(span["to"])
        if span.get("to")
        else start + len(span["from"])
    )
    return text[start:end]


def _copy_file(
    data: dict[str, Any],
    raw: dict[str, str],
    c: int,
    varier: _Varier,
    pool: dict[str, dict[str, list[str]]],
    phrasings: dict[str, list[str]],
    min_symptoms: dict[str, int],
    seed: int,
) -> tuple[dict[str, Any], str, str]:
    text = raw[data["doc"]]
    tag = f"-c{c:03d}"
    out_principles = []
    quotes: list[tuple[int, str]] = []
    for p in data["principles"]:
        rng = random.Random(f"{seed}:{c}:{p['id']}")
        t = p["type"]
        q = dict(p)
        q["id"] = p["id"] + tag
        q["title"] = varier.differ(varier.sentence(p["title"], rng), p["title"], rng, title=True)[:60]
        summary = varier.passage(p["summary"], rng, pool["summary"].get(t, []))
        q["summary"] = varier.differ(summary, p["summary"], rng)[:400]
        if p.get("advice"):
            advice = varier.passage(p["advice"], rng, pool["advice"].get(t, []))
            q["advice"] = varier.differ(advice, p["advice"], rng)[:400]
        for name, minimum in (("questions", 0), ("symptoms", min_symptoms.get(t, 0))):
            if p.get(name):
                q[name] = _items(varier, p[name], rng, pool[name].get(t, []), minimum)
        if p.get("keywords"):
            kept = [k for k in p["keywords"] if rng.random() < 0.85] or p["keywords"][:1]
            q["keywords"] = [varier.keyword(k, rng) for k in kept]
        for name in ("related", "fixed_by"):
            if p.get(name):
                q[name] = [i + tag for i in p[name]]
        if p.get("group"):
            q["group"] = p["group"] + tag
        q.pop("advice_span", None)
        q.pop("generated", None)
        start = text.index(p["source"]["from"])
        quote = _quote(text, p["source"])
        varied = varier.differ(varier.passage(quote, rng, pool["quote"].get(t, [])), quote, rng).strip()
        quotes.append((start, varied))
        q["source"] = {"from": varied}
        out_principles.append(q)
    title = f"{data['title']}（合集{c}）"
    paragraphs = [v for _, v in sorted(quotes, key=lambda x: x[0])]
    body = f"{title}\n\n" + "\n\n".join(paragraphs) + "\n"
    # a varied quote is cited verbatim, so it must occur once: a repeat gets a numbered lead
    for n, q in enumerate(out_principles):
        v = q["source"]["from"]
        if body.count(v) != 1:
            marked = f"（{n + 1}）{v}"
            body = body.replace(f"\n\n{v}\n", f"\n\n{marked}\n", 1)
            q["source"] = {"from": marked}
    doc = f"{data['doc'].split('_', 1)[0]}c{c:03d}_{hashlib.sha256(body.encode()).hexdigest()[:16]}.txt"
    groups = [
        {
            **g,
            "id": g["id"] + tag,
            "overviews": [o + tag for o in g.get("overviews", [])],
            "title": g["title"],
        }
        for g in data.get("groups", [])
    ]
    return {"doc": doc, "title": title, "groups": groups, "principles": out_principles}, body, doc


def _dump(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)
