#!/usr/bin/env python3
"""Score retrieval hits against a gold file.

A hit is {"doc": name, "start": int, "end": int} (code-point offsets into the seed text).
A hit counts for a gold region when their overlap is at least half of the shorter of the two,
and the hit is not longer than max(3 x region, 600) characters (no credit for whole-document hits).

Metrics, averaged over queries: recall@5 of grade-2 regions, recall@10 of all regions,
MRR@10 (first hit matching any region), nDCG@10 with gains 2/1 (each region credited once).
"""
import json, math, pathlib, sys

# a copy of ../shared/eval/score.py reading corpus/raw, which holds byte-identical copies of the seeds
SEEDS = pathlib.Path(__file__).resolve().parents[1] / "corpus" / "raw"
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}


def regions(q):
    out = []
    for r in q["relevant"]:
        t = TEXTS[r["doc"]]
        a = t.index(r["from"]); b = t.index(r["to"]) + len(r["to"])
        out.append((r["doc"], a, b, r["grade"]))
    return out


def matches(hit, reg):
    doc, a, b, _ = reg
    if hit.get("doc") != doc:
        return False
    s, e = int(hit["start"]), int(hit["end"])
    if e <= s:
        return False
    ov = min(e, b) - max(s, a)
    if ov <= 0:
        return False
    if e - s > max(3 * (b - a), 600):
        return False
    return ov >= 0.5 * min(e - s, b - a)


def score_query(q, hits):
    regs = regions(q)
    credited = set()
    dcg = 0.0
    rr = 0.0
    for rank, h in enumerate(hits[:10], 1):
        matched = [i for i, r in enumerate(regs) if matches(h, r)]
        if matched and rr == 0.0:
            rr = 1.0 / rank
        new = [i for i in matched if i not in credited]
        if new:
            i = max(new, key=lambda i: regs[i][3])
            credited.add(i)
            dcg += regs[i][3] / math.log2(rank + 1)
    ideal = sorted((r[3] for r in regs), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    g2 = [i for i, r in enumerate(regs) if r[3] == 2]
    top5 = set(i for h in hits[:5] for i, r in enumerate(regs) if matches(h, r))
    top10 = set(i for h in hits[:10] for i, r in enumerate(regs) if matches(h, r))
    return {
        "recall@5": len(top5 & set(g2)) / len(g2) if g2 else len(top5) / len(regs),
        "recall@10": len(top10) / len(regs),
        "mrr@10": rr,
        "ndcg@10": dcg / idcg if idcg else 0.0,
    }


def aggregate(rows):
    keys = ["ndcg@10", "recall@5", "recall@10", "mrr@10"]
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys} | {"n": len(rows)}


def load(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


if __name__ == "__main__":
    gold = {q["id"]: q for q in load(sys.argv[1])}
    runs = {r["id"]: r for r in load(sys.argv[2])}
    inq = [i for i in gold if not gold[i].get("ood")]
    rows = [score_query(gold[i], runs.get(i, {}).get("hits", [])) for i in inq]
    out = aggregate(rows)
    ood = [i for i in gold if gold[i].get("ood")]
    if ood and all("answered" in runs.get(i, {}) for i in ood):
        # an honest "no answer" on questions the articles do not cover
        out["ood_refused"] = round(sum(not runs[i]["answered"] for i in ood) / len(ood), 4)
        asks = [i for i in inq if gold[i]["mode"] == "ask" and "answered" in runs.get(i, {})]
        if asks:
            out["in_domain_answered"] = round(sum(bool(runs[i]["answered"]) for i in asks) / len(asks), 4)
    print(json.dumps(out))
