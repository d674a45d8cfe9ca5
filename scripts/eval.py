"""Retrieval quality as an ablation, in-process: `python scripts/eval.py GOLD.jsonl [--variant ...] [-v]`.

Scores each query of a gold file (the format of ../shared/eval/dev.jsonl) with the scorer that sits beside
it (score.py: span overlap, recall@5/@10, MRR@10, nDCG@10), per mode and overall, for each retrieval
variant: each registered signal alone (bm25, dense), then fused. ood queries check that ask refuses.
`-v` lists the queries whose gold regions were missed, to study failures (never to copy their wording
into the corpus).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from service.kb import KnowledgeBase
from service.models import AskRequest, DiagnoseRequest, SearchRequest
from service.retrieval import REGISTRY, Variant
from service.settings import get_settings


def _scorer(gold: Path) -> Any:
    spec = importlib.util.spec_from_file_location("score", gold.parent / "score.py")
    if spec is None or spec.loader is None:
        sys.exit(f"error: no score.py beside {gold}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(kb: KnowledgeBase, q: dict[str, Any], variant: Variant) -> tuple[list[dict[str, Any]], bool]:
    text, mode = q["query"], q["mode"]
    if mode == "search":
        s = kb.search(SearchRequest(query=text, k=10), variant)
        hits, answered = list(s.hits), s.answered
    elif mode == "ask":
        a = kb.ask(AskRequest(question=text, k=10), variant)
        hits, answered = list(a.hits), a.answered
    else:
        d = kb.diagnose(DiagnoseRequest(situation=text, k=10), variant)
        hits, answered = list(d.hits), d.answered
    return [
        {"doc": h.source.doc, "start": h.source.start, "end": h.source.end, "id": h.id} for h in hits
    ], answered


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gold", type=Path)
    # each registered signal alone, then fused
    ap.add_argument("--variant", action="append", choices=[*sorted(REGISTRY), "fused"])
    ap.add_argument("-v", "--verbose", action="store_true")
    # the figures per style of query too (rambling, multi, far, keyword, ...), each with its count
    ap.add_argument("--by-style", action="store_true")
    args = ap.parse_args()
    score = _scorer(args.gold)
    gold = score.load(args.gold)
    kb = KnowledgeBase.load(get_settings())
    for variant in args.variant or [*sorted(REGISTRY), "fused"]:
        by_mode: dict[str, list[dict[str, float]]] = {}
        by_style: dict[str, list[dict[str, float]]] = {}
        refused_by_style: dict[str, list[bool]] = {}
        refused, answered_in, answered_all = [], [], []
        for q in gold:
            hits, answered = run(kb, q, variant)
            if q.get("ood"):
                refused.append(answered is False)
                refused_by_style.setdefault(q.get("style") or "-", []).append(answered is False)
                continue
            row = score.score_query(q, hits)
            by_mode.setdefault(q["mode"], []).append(row)
            by_style.setdefault(f"{q.get('style') or '-'}/{q['mode']}", []).append(row)
            answered_all.append(answered)
            if q["mode"] == "ask":
                answered_in.append(answered)
            if args.verbose and variant == "fused" and row["recall@10"] < 1:
                got = [h["id"] for h in hits[:5]]
                r10, mrr = row["recall@10"], row["mrr@10"]
                print(f"  miss {q['id']} {q['mode']} r@10={r10:.2f} mrr={mrr:.2f} top5={got}")
        print(f"[{variant}]")
        for mode, rows in sorted(by_mode.items()):
            print(f"  {mode:9s}", json.dumps(score.aggregate(rows)))
        if args.by_style:
            for style, rows in sorted(by_style.items()):
                print(f"  style {style:20s}", json.dumps(score.aggregate(rows)))
            for style, flags in sorted(refused_by_style.items()):
                print(f"  style {style + '/ood':20s}", json.dumps({"n": len(flags), "refused": sum(flags)}))
        overall = score.aggregate([r for rows in by_mode.values() for r in rows])
        if refused:
            overall["ood_refused"] = round(sum(refused) / len(refused), 4)
            # as ../shared/eval/run.py counts it (ask only), then over every mode
            overall["in_domain_answered"] = round(sum(answered_in) / max(1, len(answered_in)), 4)
            overall["in_domain_answered_all"] = round(sum(answered_all) / max(1, len(answered_all)), 4)
        print("  overall  ", json.dumps(overall))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
