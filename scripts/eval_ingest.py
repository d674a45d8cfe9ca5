"""How much of the curation `kb add` does: `python scripts/eval_ingest.py [--no-retrieval] [--json FILE]`.

Leave one article out, five times: remove its curated file(s) from a copy of the corpus (and the links
other files make to its principles), draft it with `kb add`'s drafting (the type classifier trained on the
other four), and compare the unreviewed draft with the curated file:

- corpus checks: the draft passes the same checks as a curated file (quotes, junk, groups, types);
- segmentation, on sentence units (a boundary is where a curated span starts or ends): Pk and WindowDiff
  (k = half the mean reference segment, in sentences), boundary F1 (exact sentence);
- spans: the share of curated spans matched by a draft span at IoU >= 0.5;
- lists: group F1 (a draft group matches a curated one when at least half of each side's members match
  the other's at IoU >= 0.5);
- types: over curated spans matched at IoU >= 0.5, the draft's type top-1 and top-3 accuracy, macro-F1;
- retrieval: a build with the draft in place of the curated file; nDCG@10 (eval/score.py's rule) of the
  queries whose gold lies in that article (eval/tune.jsonl, eval/test.jsonl, ../shared/eval/dev.jsonl),
  against the build with every curated file, and the change for the queries about the other articles.

Builds share a vector cache, so only each draft's texts are encoded; queries are encoded by the model on
torch for every build alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.corpus import read_curated  # noqa: E402
from service.curation.store import check_draft, draft_text  # noqa: E402
from service.ingest.duplicates import shingles  # noqa: E402
from service.ingest.text import split_units  # noqa: E402

GOLD = [
    ROOT / "eval" / "tune.jsonl",
    ROOT / "eval" / "test.jsonl",
    ROOT.parent / "shared" / "eval" / "dev.jsonl",
]


def _scorer() -> Any:
    spec = importlib.util.spec_from_file_location("score", ROOT / "eval" / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files_of(root: Path, doc: str) -> list[Path]:
    out = []
    for p in sorted((root / "principles").glob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        if data.get("doc") == doc:
            out.append(p)
    return out


def fold_corpus(src: Path, dst: Path, doc: str) -> list[str]:
    """A copy of the corpus without `doc`'s curated files nor the links to their principles."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("drafts", ".*"))
    removed: list[str] = []
    for p in _files_of(dst, doc):
        removed += [x["id"] for x in yaml.safe_load(p.read_text(encoding="utf-8"))["principles"]]
        p.unlink()
    gone = set(removed)
    for p in sorted((dst / "principles").glob("*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        changed = False
        for x in data["principles"]:
            for key in ("related", "fixed_by"):
                if any(t in gone for t in x.get(key, [])):
                    x[key] = [t for t in x[key] if t not in gone]
                    changed = True
        if changed:
            p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return removed


# -- segmentation metrics --------------------------------------------------------------------------


def _unit_starts(text: str) -> list[int]:
    return [u.start for u in split_units(text)]


def _boundaries(spans: list[tuple[int, int]], starts: list[int]) -> set[int]:
    def nearest(pos: int) -> int:
        return min(range(len(starts)), key=lambda i: abs(starts[i] - pos))

    out = set()
    for a, b in spans:
        out.add(nearest(a))
        if b < starts[-1]:
            out.add(nearest(b))
    out.discard(0)
    return out


def _seg_ids(bounds: set[int], n: int) -> list[int]:
    ids, cur = [], 0
    for i in range(n):
        if i in bounds:
            cur += 1
        ids.append(cur)
    return ids


def pk_windowdiff(ref: set[int], hyp: set[int], n: int) -> tuple[float, float]:
    k = max(2, round(n / (len(ref) + 1) / 2))
    r, h = _seg_ids(ref, n), _seg_ids(hyp, n)
    windows = range(n - k)
    pk = sum((r[i] == r[i + k]) != (h[i] == h[i + k]) for i in windows) / max(1, len(windows))
    wd = sum((r[i + k] - r[i]) != (h[i + k] - h[i]) for i in windows) / max(1, len(windows))
    return pk, wd


def _f1(tp_p: int, n_p: int, tp_r: int, n_r: int) -> float:
    p = tp_p / n_p if n_p else 0.0
    r = tp_r / n_r if n_r else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def compare(
    text: str, curated: list[Any], groups_c: dict[str, list[tuple[int, int]]], draft: dict[str, Any]
) -> dict[str, Any]:
    from sklearn.metrics import f1_score

    from service.corpus import resolve_quote

    d_spans, d_types, d_top3, d_groups = [], [], [], {}
    for p in draft["principles"]:
        span = resolve_quote(text, p["source"]["from"], p["source"].get("to"), p["id"])
        d_spans.append(span)
        d_types.append(p["type"])
        top = [t for t, _ in p["generated"]["type"]["top3"]]
        d_top3.append([p["type"], *[t for t in top if t != p["type"]]][:3])
        if "group" in p:
            d_groups.setdefault(p["group"], []).append(span)
    c_spans = [(p.source.start, p.source.end) for p in curated]
    starts = _unit_starts(text)
    ref, hyp = _boundaries(c_spans, starts), _boundaries(d_spans, starts)
    pk, wd = pk_windowdiff(ref, hyp, len(starts))
    tp = len(ref & hyp)
    best = [max(range(len(d_spans)), key=lambda j: iou(c, d_spans[j])) if d_spans else -1 for c in c_spans]
    matched = [j for c, j in zip(c_spans, best, strict=True) if j >= 0 and iou(c, d_spans[j]) >= 0.5]
    pairs = [
        (p.type, j)
        for p, c, j in zip(curated, c_spans, best, strict=True)
        if j >= 0 and iou(c, d_spans[j]) >= 0.5
    ]

    def group_match(g1: list[tuple[int, int]], g2: list[tuple[int, int]]) -> bool:
        a = sum(any(iou(x, y) >= 0.5 for y in g2) for x in g1)
        b = sum(any(iou(y, x) >= 0.5 for x in g1) for y in g2)
        return a >= len(g1) / 2 and b >= len(g2) / 2

    cg, dg = list(groups_c.values()), list(d_groups.values())
    gp = sum(any(group_match(c, d) for c in cg) for d in dg)
    gr = sum(any(group_match(c, d) for d in dg) for c in cg)
    gold_t = [t for t, _ in pairs]
    pred_t = [d_types[j] for _, j in pairs]
    return {
        "pk": pk,
        "windowdiff": wd,
        "boundary_f1": _f1(tp, len(hyp), tp, len(ref)),
        "span_iou50": len(matched) / len(c_spans),
        "group_f1": _f1(gp, len(dg), gr, len(cg)) if cg or dg else 1.0,
        "groups": f"{len(dg)}/{len(cg)}",
        "type_top1": sum(g == p for g, p in zip(gold_t, pred_t, strict=True)) / max(1, len(pairs)),
        "type_top3": sum(g in d_top3[j] for g, (_, j) in zip(gold_t, pairs, strict=True))
        / max(1, len(pairs)),
        "type_macro_f1": float(f1_score(gold_t, pred_t, average="macro", zero_division=0)) if pairs else 0.0,
        "typed_pairs": len(pairs),
        "principles": f"{len(d_spans)}/{len(c_spans)}",
    }


# -- retrieval -----------------------------------------------------------------------------------


class _Retrieval:
    def __init__(self, work: Path) -> None:
        from service.build.vector_cache import CachingEmbedder
        from service.embedder import SentenceTransformerEmbedder
        from service.settings import get_settings

        self.model = get_settings().model
        torch_model = SentenceTransformerEmbedder(self.model)
        cache = ROOT / "index" / "cache"  # the project's own vector cache: the curated texts are in it
        self.docs = CachingEmbedder(torch_model, cache)
        self.queries = CachingEmbedder(torch_model, work / "query-cache")
        self.work = work
        self.score = _scorer()
        self.gold = [q for path in GOLD if path.exists() for q in self.score.load(path) if not q.get("ood")]

    def ndcg(self, corpus_dir: Path, name: str) -> dict[str, float]:
        """Per query id: nDCG@10 on a build of `corpus_dir`."""
        from service.build.index import build_index
        from service.corpus import load_corpus
        from service.index import load_index
        from service.kb import KnowledgeBase
        from service.models import AskRequest, DiagnoseRequest, SearchRequest
        from service.settings import Settings

        index_dir = self.work / f"index-{name}"
        build_index(load_corpus(corpus_dir), self.docs, index_dir, None)
        settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir, encoder="torch")
        kb = KnowledgeBase(settings, load_index(index_dir, corpus_dir, self.model), self.queries)
        out = {}
        for q in self.gold:
            if q["mode"] == "search":
                hits = kb.search(SearchRequest(query=q["query"], k=10)).hits
            elif q["mode"] == "ask":
                hits = kb.ask(AskRequest(question=q["query"], k=10)).hits
            else:
                hits = list(kb.diagnose(DiagnoseRequest(situation=q["query"], k=10)).hits)
            rows = [{"doc": h.source.doc, "start": h.source.start, "end": h.source.end} for h in hits]
            out[q["id"]] = self.score.score_query(q, rows)["ndcg@10"]
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--no-retrieval", action="store_true", help="skip the builds (segmentation and types only)"
    )
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    src = ROOT / "corpus"
    cur = read_curated(src)
    work = Path(tempfile.mkdtemp(prefix="eval-ingest-"))
    retrieval = None if args.no_retrieval else _Retrieval(work)
    base = retrieval.ndcg(src, "curated") if retrieval else {}
    rows = []
    for doc in sorted(cur.raw):
        t0 = time.time()
        fold = work / f"corpus-{doc[:3]}"
        fold_corpus(src, fold, doc)
        text = cur.raw[doc]
        draft, _summary = draft_text(fold, text, doc)
        try:
            check_draft(fold, draft, text, doc)
            passes = True
        except Exception as exc:  # any failure of the corpus checks is a bug to report
            print(f"{doc}: draft fails the corpus checks: {exc}", file=sys.stderr)
            passes = False
        curated = [p for p in cur.principles if p.source.doc == doc]
        ids = {p.id for p in curated}
        groups_c: dict[str, list[tuple[int, int]]] = {}
        for p in curated:
            if p.group:
                groups_c.setdefault(p.group, []).append((p.source.start, p.source.end))
        row: dict[str, Any] = {"doc": doc[:3], "checks": passes, **compare(text, curated, groups_c, draft)}
        row["draft_seconds"] = round(time.time() - t0, 1)
        if retrieval:
            (fold / "principles" / f"{doc[:-4]}.yaml").write_text(
                yaml.safe_dump(draft, allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
            got = retrieval.ndcg(fold, doc[:3])
            held = [q["id"] for q in retrieval.gold if any(r["doc"] == doc for r in q["relevant"])]
            other = [q["id"] for q in retrieval.gold if q["id"] not in set(held)]
            mean = lambda d, qs: sum(d[i] for i in qs) / max(1, len(qs))  # noqa: E731
            row |= {
                "queries": len(held),
                "ndcg_draft": mean(got, held),
                "ndcg_curated": mean(base, held),
                "ratio": mean(got, held) / max(1e-9, mean(base, held)),
                "others_change": mean(got, other) - mean(base, other),
            }
        del ids
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
    _table(rows)
    _duplicates(cur.raw)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _duplicates(raw: dict[str, str]) -> None:
    sets = {d: shingles(t) for d, t in raw.items()}
    worst = max(len(sets[a] & sets[b]) / min(len(sets[a]), len(sets[b])) for a in raw for b in raw if a < b)
    print(f"\nhighest near-duplicate score between two different articles: {worst:.3f} (flagged at >= 0.4)")


def _table(rows: list[dict[str, Any]]) -> None:
    cols = [
        ("doc", "doc", "{}"), ("checks", "checks", "{}"), ("principles", "draft/curated", "{}"),
        ("pk", "Pk", "{:.2f}"), ("windowdiff", "WinDiff", "{:.2f}"), ("boundary_f1", "bound F1", "{:.2f}"),
        ("span_iou50", "IoU≥.5", "{:.2f}"), ("group_f1", "list F1", "{:.2f}"), ("groups", "lists d/c", "{}"),
        ("type_top1", "type@1", "{:.2f}"), ("type_top3", "type@3", "{:.2f}"), ("type_macro_f1", "type mF1", "{:.2f}"),  # noqa: E501
        ("queries", "queries", "{}"), ("ndcg_draft", "nDCG draft", "{:.3f}"), ("ndcg_curated", "nDCG cur", "{:.3f}"),  # noqa: E501
        ("ratio", "ratio", "{:.2f}"), ("others_change", "others Δ", "{:+.3f}"),
    ]  # fmt: skip
    cols = [c for c in cols if c[0] in rows[0]]
    print("| " + " | ".join(h for _, h, _ in cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f.format(r[k]) for k, _, f in cols) + " |")
    mean = {}
    for k, _, f in cols:
        vals = [r[k] for r in rows]
        if all(isinstance(v, float) for v in vals):
            mean[k] = f.format(sum(vals) / len(vals))
        elif k == "checks":
            mean[k] = f"{sum(vals)}/{len(vals)}"
        elif k == "queries":
            mean[k] = str(sum(vals))
        else:
            mean[k] = "mean" if k == "doc" else ""
    print("| " + " | ".join(mean[k] for k, _, _ in cols) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
