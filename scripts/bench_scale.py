"""How cost grows with the corpus: `python scripts/bench_scale.py [--factors 1 10 100] [--report]`.

For each factor N: a synthetic corpus of N times the real principles (scripts/scale_corpus.py says how
the copies are made), then, each in a process of its own:

1. **build**: a full `kb build` of it into a scratch index (in-process, the real pipeline), timed by
   stage: encoding (the vector cache included), adaptation training, ONNX export, BM25, the ANN index
   (past KB_ANN_MIN_VECTORS), the confidence fit; then an **incremental build** after adding one
   article (one more copy of article 003, `kb publish`'s path: no retraining, cached vectors);
   the index's size on disk (the build folder, and the adapted encoder beside it);
2. **quality**: the tuning set's queries (eval/tune.jsonl, each by its mode) on the big index:
   nDCG@10 against the real gold (copies are distractors), the same with a hit on a copy credited as a
   hit on its original ("family": the query still finds its topic), and the dense ranking of the
   ANN index against exact search (recall@10 of principles, and of the fused /search top 10);
3. **serving**: `kb serve` on a free loopback port over that index: cold start (process start ->
   /health 200), RSS after the load, and /search, /ask, /diagnose p50 / p99 at concurrency 1 and 16
   under wrk with unique texts (scripts/bench.py's generators and scripts/wrk_post.lua).

At 100x (about 17k principles, 370k vectors) encoding every text with torch would take hours on two
cores: the encoding of a random sample of 1,000 of its texts is timed (the extrapolated figure is
reported as such), and the other vectors are made from real ones: each copy text's vector is its
source text's real vector turned by an angle drawn from the cosines measured on that sample (source
vs copy, both encoded for real), towards a real vector of another principle of the same type. They
go into the build's vector cache, so the build itself runs unchanged and its encoding stage measures
cache lookups. `--vectors real|perturbed` chooses (default: real below 100x).

Results go to .scale/<N>/result.json; `--report` renders the table (markdown, for docs/results.md)
and the plots (docs/scale_*.png) from them. `--serve-code DIR` serves with another checkout's code
(a before/after of the serving path on the same index).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

WORK = ROOT / ".scale"
SAMPLE = 1000  # texts encoded for real at 100x: the throughput and the cosine distribution
GOLD = ROOT / "eval" / "tune.jsonl"
INCREMENTAL_DOC = "003.yaml"


def _env(work: Path) -> dict[str, str]:
    return {"KB_CORPUS_DIR": str(work / "corpus"), "KB_INDEX_DIR": str(work / "index")}


def _sub(
    stage: str, work: Path, extra: list[str] | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--stage",
        stage,
        "--work",
        str(work),
        *(extra or []),
    ]
    out = subprocess.run(
        cmd, env={**os.environ, **_env(work), **(env or {})}, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"error: stage {stage} failed for {work}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- stage: prepare ------------------------------------------------------------------------------------


def stage_prepare(work: Path, factor: int, vectors: str, sample: int) -> dict[str, Any]:
    from scale_corpus import synthesise

    from service.corpus import load_corpus
    from service.texts import principle_fields

    t0 = time.perf_counter()
    synth = synthesise(ROOT / "corpus", work / "corpus", factor)
    corpus = load_corpus(synth.corpus)
    texts = [t for p in corpus.principles for _, t in principle_fields(p)]
    out: dict[str, Any] = {
        "factor": factor,
        "principles": len(corpus.principles),
        "articles": len(corpus.raw),
        "texts": len(texts),
        "distinct_texts": len(set(texts)),
        "synthesis_seconds": round(time.perf_counter() - t0, 1),
        "vectors_route": vectors,
    }
    (work / "sources.json").write_text(json.dumps(synth.sources), encoding="utf-8")
    if vectors == "perturbed":
        out.update(_seed_vectors(work, corpus.principles, sample))
    return out


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def _seed_vectors(work: Path, principles: list[Any], size: int) -> dict[str, Any]:
    """Fill the scratch index's vector cache: real vectors for the real texts (from the real index), a
    sample of copy texts encoded for real (timed), the rest turned from their sources' real vectors."""
    import faiss
    import numpy as np
    from scale_corpus import original_id

    from service.build.vector_cache import KEYS_FILE, VECTOR_CACHE_DIR, VECTORS_FILE, text_key
    from service.embedder import SentenceTransformerEmbedder
    from service.settings import get_settings
    from service.texts import principle_fields

    model = get_settings().model
    real = (ROOT / "index" / "current").resolve()
    flat = faiss.read_index(str(real / "vectors.faiss"))
    real_vecs = flat.reconstruct_n(0, flat.ntotal)
    rows = json.loads((real / "vector_owners.json").read_text(encoding="utf-8"))
    records = json.loads((real / "records.json").read_text(encoding="utf-8"))["principles"]
    real_ids = [p["id"] for p in records]
    by_text = {str(t): i for i, (_, _, t) in enumerate(rows)}
    # a real principle's texts by field: (text, bigrams, row)
    fields: dict[str, dict[str, list[tuple[str, set[str], int]]]] = {}
    for i, (owner, field, text) in enumerate(rows):
        fields.setdefault(real_ids[int(owner)], {}).setdefault(str(field), []).append(
            (str(text), _bigrams(str(text)), i)
        )
    types = {p["id"]: p["type"] for p in records}
    rows_of_type: dict[str, list[int]] = {}
    for i, (owner, _, _) in enumerate(rows):
        rows_of_type.setdefault(types[real_ids[int(owner)]], []).append(i)

    copies: list[tuple[str, int, str]] = []  # (text, source row, type)
    for p in principles:
        if p.id in types:
            continue
        src = original_id(p.id)
        for field, text in principle_fields(p):
            if text in by_text:
                continue
            candidates = fields[src].get(field) or fields[src]["summary"]
            grams = _bigrams(text)
            best = max(candidates, key=lambda c: len(grams & c[1]) / len(grams | c[1]))
            copies.append((text, best[2], p.type))
    unique: dict[str, tuple[int, str]] = {}
    for text, row, kind in copies:
        unique.setdefault(text, (row, kind))
    texts = list(unique)
    rng = random.Random(26)
    sample = rng.sample(texts, min(size, len(texts)))
    embedder = SentenceTransformerEmbedder(model)
    embedder.encode(sample[:32])  # load the model before the clock starts
    t0 = time.perf_counter()
    sample_vecs = embedder.encode(sample)
    rate = len(sample) / (time.perf_counter() - t0)
    cosines = np.array([float(sample_vecs[i] @ real_vecs[unique[t][0]]) for i, t in enumerate(sample)])
    out_keys = [text_key(model, str(t)) for _, _, t in rows]
    out_vecs = [real_vecs]
    sampled = dict(zip(sample, sample_vecs, strict=True))
    nprng = np.random.default_rng(26)
    made = np.empty((len(texts), real_vecs.shape[1]), dtype=np.float32)
    for j, text in enumerate(texts):
        if text in sampled:
            made[j] = sampled[text]
            continue
        row, kind = unique[text]
        v = real_vecs[row]
        other = real_vecs[rows_of_type[kind][int(nprng.integers(len(rows_of_type[kind])))]]
        u = other - (other @ v) * v
        norm = float(np.linalg.norm(u))
        if norm < 1e-6:
            made[j] = v
            continue
        cos = float(np.clip(cosines[int(nprng.integers(len(cosines)))], -1.0, 1.0))
        made[j] = cos * v + math.sqrt(max(0.0, 1 - cos * cos)) * (u / norm)
    out_keys += [text_key(model, t) for t in texts]
    out_vecs.append(made)
    cache = work / "index" / VECTOR_CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    np.save(cache / VECTORS_FILE, np.ascontiguousarray(np.vstack(out_vecs), dtype=np.float32))
    (cache / KEYS_FILE).write_text(json.dumps(out_keys), encoding="utf-8")
    total = len(rows) + len(texts)
    return {
        "encode_sample": len(sample),
        "encode_rate_per_s": round(rate, 1),
        "encode_extrapolated_s": round(total / rate, 0),
        "sample_cosine_mean": round(float(cosines.mean()), 4),
        "sample_cosine_p10": round(float(np.quantile(cosines, 0.1)), 4),
    }


# -- stage: build --------------------------------------------------------------------------------------


def _timed(owner: Any, name: str, into: dict[str, float], key: str) -> None:
    """Replace owner.name by a wrapper adding its wall time to into[key]."""
    inner = getattr(owner, name)
    is_class_method = isinstance(owner, type) and isinstance(owner.__dict__.get(name), classmethod)
    fn: Callable[..., Any] = inner.__func__ if is_class_method else inner

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into[key] = into.get(key, 0.0) + time.perf_counter() - t0

    setattr(owner, name, classmethod(wrapper) if is_class_method else wrapper)


def _instrument() -> dict[str, float]:
    import service.build.pipeline as pipeline
    import service.build.query_side as query_side
    import service.retrieval.dense as dense
    from service.build.vector_cache import CachingEmbedder
    from service.retrieval.bm25 import Bm25Retriever

    times: dict[str, float] = {}
    _timed(CachingEmbedder, "encode", times, "encoding")
    _timed(query_side, "train", times, "adaptation")
    _timed(query_side, "reuse_or_export", times, "onnx")
    _timed(Bm25Retriever, "build", times, "bm25")
    if hasattr(dense, "build_ann"):
        _timed(dense, "build_ann", times, "ann")
    _timed(pipeline, "calibrate", times, "confidence")
    return times


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def stage_build(work: Path, factor: int, adapt_steps: int | None) -> dict[str, Any]:
    import functools

    from scale_corpus import synthesise

    import service.build.pipeline as pipeline
    from service.build.adapt import AdaptConfig, natural_steps
    from service.corpus import load_corpus
    from service.settings import Settings

    settings = Settings()
    config = AdaptConfig(epochs=settings.adapt_epochs)
    natural = natural_steps(load_corpus(settings.corpus_dir).principles, config)
    steps = min(natural, config.max_steps)
    if adapt_steps is not None:  # a short training, timed per step; the real one is extrapolated
        pipeline.AdaptConfig = functools.partial(AdaptConfig, max_steps=adapt_steps)  # type: ignore[misc]
    times = _instrument()
    t0 = time.perf_counter()
    manifest = pipeline.build(settings)
    full = time.perf_counter() - t0
    stages = {k: round(v, 1) for k, v in times.items()}
    adaptation: dict[str, Any] = {"natural_steps": natural, "capped_steps": steps}
    if adapt_steps is not None and "adaptation" in times:
        per_step = times["adaptation"] / min(adapt_steps, natural)
        adaptation.update(
            {
                "timed_steps": min(adapt_steps, natural),
                "seconds_per_step": round(per_step, 3),
                "capped_extrapolated_s": round(per_step * steps),
                "uncapped_extrapolated_s": round(per_step * natural),
            }
        )
    folder = (settings.index_dir / "current").resolve()
    size = _du(folder)
    (work / "full_build.json").write_text(json.dumps({"stages": stages, "seconds": full}), encoding="utf-8")
    adapted = _du(settings.index_dir / manifest.query_model) if manifest.query_model else 0
    # one more article: a further copy of article 003, as `kb publish` builds (no retraining)
    extra = synthesise(ROOT / "corpus", work / "extra", 2, seed=factor + 1000)
    doc = next(p for p in (extra.corpus / "principles").glob("003c*.yaml"))
    import yaml

    # the copy's links to other articles' copies go: those copies are not in this corpus
    data = yaml.safe_load(doc.read_text(encoding="utf-8"))
    ids = {p["id"] for p in data["principles"]}
    for p in data["principles"]:
        for name in ("related", "fixed_by"):
            if name in p:
                p[name] = [i for i in p[name] if i in ids]
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)
    raw_name = text.split("\n", 1)[0].removeprefix("doc: ").strip()
    new_name = raw_name.replace("c001_", f"c{factor:03d}_", 1)
    text = (
        text.replace(raw_name, new_name)
        .replace("-c001", f"-c{factor:03d}")
        .replace("（合集1）", f"（合集{factor}）")
    )
    (settings.corpus_dir / "principles" / f"003c{factor:03d}.yaml").write_text(text, encoding="utf-8")
    shutil.copy(extra.corpus / "raw" / raw_name, settings.corpus_dir / "raw" / new_name)
    times.clear()
    t1 = time.perf_counter()
    pipeline.build(settings, retrain=False)
    incremental = time.perf_counter() - t1
    shutil.rmtree(work / "extra", ignore_errors=True)
    return {
        "vectors": manifest.vectors,
        "build_seconds": round(full, 1),
        "stages": stages,
        "adaptation": adaptation,
        "incremental_seconds": round(incremental, 1),
        "incremental_stages": {k: round(v, 1) for k, v in times.items()},
        "index_bytes": size,
        "adapted_bytes": adapted,
    }


# -- stage: quality ------------------------------------------------------------------------------------


def _quality(work: Path) -> dict[str, Any]:
    import importlib.util

    import numpy as np

    from service.kb import KnowledgeBase
    from service.models import AskRequest, DiagnoseRequest, SearchRequest
    from service.retrieval import DenseRetriever, Retrieval
    from service.settings import get_settings

    spec = importlib.util.spec_from_file_location("score", GOLD.parent / "score.py")
    assert spec is not None and spec.loader is not None
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    gold = [q for q in score.load(GOLD) if not q.get("ood")]
    settings = get_settings()
    kb = KnowledgeBase.load(settings)
    catalog = kb.index.catalog
    sources: dict[str, str] = json.loads((work / "sources.json").read_text(encoding="utf-8"))

    def hit(h: Any, family: bool) -> dict[str, Any]:
        pid = sources.get(h.id, h.id) if family else h.id
        s = catalog.by_id[pid].source
        return {"doc": s.doc, "start": s.start, "end": s.end}

    plain, fam = [], []
    t0 = time.perf_counter()
    for q in gold:
        if q["mode"] == "search":
            hits = kb.search(SearchRequest(query=q["query"], k=10)).hits
        elif q["mode"] == "ask":
            hits = kb.ask(AskRequest(question=q["query"], k=10)).hits
        else:
            hits = kb.diagnose(DiagnoseRequest(situation=q["query"], k=10)).hits
        plain.append(score.score_query(q, [hit(h, False) for h in hits]))
        fam.append(score.score_query(q, [hit(h, True) for h in hits]))
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        "queries": len(gold),
        "ndcg10": score.aggregate(plain)["ndcg@10"],
        "family_ndcg10": score.aggregate(fam)["ndcg@10"],
        "family_recall10": score.aggregate(fam)["recall@10"],
        "in_process_seconds_per_query": round(seconds / len(gold), 4),
    }
    dense = kb.index.retriever(DenseRetriever.name)
    if getattr(dense, "ann", None) is not None:
        retrieval: Retrieval = kb._served.retrieval
        keep = catalog.mask()
        rec_dense, rec_fused, t_ann, t_exact = [], [], 0.0, 0.0
        for q in gold:
            query = kb.encoder.query(q["query"])
            a0 = time.perf_counter()
            approx = dense.score(query)
            a1 = time.perf_counter()
            exact = dense.score_exact(query)  # type: ignore[attr-defined]
            t_exact += time.perf_counter() - a1
            t_ann += a1 - a0
            top_a = set(np.argsort(-approx.values, kind="stable")[:10].tolist())
            top_e = set(np.argsort(-exact.values, kind="stable")[:10].tolist())
            rec_dense.append(len(top_a & top_e) / 10)
            signals = retrieval.signals(query)
            fused_a = {r.principle.id for r in retrieval.rank(signals, keep, 10)}
            fused_e = {
                r.principle.id for r in retrieval.rank({**signals, DenseRetriever.name: exact}, keep, 10)
            }
            rec_fused.append(len(fused_a & fused_e) / 10)
        out.update(
            {
                "ann_recall10_dense": round(float(np.mean(rec_dense)), 4),
                "ann_recall10_fused": round(float(np.mean(rec_fused)), 4),
                "ann_ms": round(1000 * t_ann / len(gold), 3),
                "exact_ms": round(1000 * t_exact / len(gold), 3),
            }
        )
    return out


# -- serving -------------------------------------------------------------------------------------------


def serve(work: Path, seconds: float, code: Path | None) -> dict[str, Any]:
    from bench import drive, questions, rss_mib, situations

    from service.devserver import start_kb_serve

    env = {**_env(work), "KB_MAX_INFLIGHT": "64", "KB_MAX_QUEUED": "256"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    proc, url, cold = start_kb_serve(env, cwd=code or ROOT, timeout=600)
    try:
        loaded = rss_mib(proc.pid)
        qs, sits = questions(), situations()
        half = len(qs) // 2
        pools = {
            "/search": ("query", qs[:half]),
            "/ask": ("question", qs[half:]),
            "/diagnose": ("situation", sits),
        }
        rows: dict[str, Any] = {}
        for path, (field, pool) in pools.items():
            used = 0
            for conc in (1, 16):
                r = drive(url, path, field, pool[used:], conc, seconds)
                used += r["n"]
                rows[f"{path} c{conc}"] = {k: round(r[k], 2) for k in ("qps", "p50", "p99", "errors")}
        rss = rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "cold_start_s": round(cold, 2),
        "rss_loaded_mib": round(loaded),
        "rss_mib": round(rss),
        "latency": rows,
    }


# -- report --------------------------------------------------------------------------------------------


def report(results: list[dict[str, Any]], plots: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = sorted(results, key=lambda r: r["factor"])
    head = [
        "factor",
        "principles",
        "vectors",
        "full build s",
        "encoding s",
        "adaptation s",
        "ONNX s",
        "BM25 s",
        "ANN s",
        "confidence s",
        "incremental s",
        "index MiB",
        "RSS MiB",
        "cold start s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in results:
        st = r["build"]["stages"]
        enc = f"{st.get('encoding', 0):.0f}"
        if "encode_extrapolated_s" in r["prepare"]:
            enc += f" (cache; {r['prepare']['encode_extrapolated_s'] / 3600:.1f} h extrapolated)"
        cells = [
            f"{r['factor']}×",
            r["prepare"]["principles"],
            r["build"]["vectors"],
            f"{r['build']['build_seconds']:.0f}",
            enc,
            f"{st.get('adaptation', 0):.0f}",
            f"{st.get('onnx', 0):.0f}",
            f"{st.get('bm25', 0):.1f}",
            f"{st.get('ann', 0):.0f}",
            f"{st.get('confidence', 0):.0f}",
            f"{r['build']['incremental_seconds']:.0f}",
            f"{r['build']['index_bytes'] / 2**20:.0f}",
            r["serve"]["rss_mib"],
            f"{r['serve']['cold_start_s']:.1f}",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    keys = [f"{p} c{c}" for p in ("/search", "/ask", "/diagnose") for c in (1, 16)]
    lines.append("| factor | " + " | ".join(f"{k} p50 / p99 ms" for k in keys) + " |")
    lines.append("|" + " --- |" * (len(keys) + 1))
    for r in results:
        lat = r["serve"]["latency"]
        lines.append(
            f"| {r['factor']}× | "
            + " | ".join(f"{lat[k]['p50']:.1f} / {lat[k]['p99']:.1f}" for k in keys)
            + " |"
        )
    lines.append("")
    lines.append(
        "| factor | tune nDCG@10 (copies are misses) | family nDCG@10 | family recall@10 "
        "| ANN recall@10 dense | ANN recall@10 fused | ANN ms | exact ms |"
    )
    lines.append("|" + " --- |" * 8)
    for r in results:
        q = r["quality"]
        ann = [q.get(k, "–") for k in ("ann_recall10_dense", "ann_recall10_fused", "ann_ms", "exact_ms")]
        lines.append(
            f"| {r['factor']}× | {q['ndcg10']:.3f} | {q['family_ndcg10']:.3f} | {q['family_recall10']:.3f} | "
            + " | ".join(str(a) for a in ann)
            + " |"
        )

    x = [r["prepare"]["principles"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("encoding", "adaptation", "onnx", "bm25", "ann", "confidence"):
        ax.plot(x, [max(r["build"]["stages"].get(key, 0), 0.05) for r in results], marker="o", label=key)
    ax.plot(x, [r["build"]["build_seconds"] for r in results], marker="s", color="black", label="full build")
    ax.plot(
        x,
        [r["build"]["incremental_seconds"] for r in results],
        marker="^",
        linestyle="--",
        label="incremental",
    )
    ax.set(xscale="log", yscale="log", xlabel="principles", ylabel="seconds", title="kb build by stage")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "scale_build.png", dpi=110)
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in keys:
        ax.plot(x, [r["serve"]["latency"][k]["p50"] for r in results], marker="o", label=f"{k} p50")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="principles",
        ylabel="ms",
        title="request latency (wrk, unique texts)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "scale_latency.png", dpi=110)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, [r["serve"]["rss_mib"] for r in results], marker="o", label="serving RSS (MiB)")
    ax.plot(x, [r["build"]["index_bytes"] / 2**20 for r in results], marker="s", label="index on disk (MiB)")
    ax.set(xscale="log", yscale="log", xlabel="principles", ylabel="MiB", title="memory and disk")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "scale_memory.png", dpi=110)
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--vectors", choices=["real", "perturbed"], help="default: real below 100x")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each load run")
    ap.add_argument("--serve-code", type=Path, help="serve with this checkout's code (before/after)")
    ap.add_argument(
        "--sample", type=int, default=SAMPLE, help="texts encoded for real with perturbed vectors"
    )
    ap.add_argument(
        "--adapt-steps",
        type=int,
        help="train only this many steps, timed, and extrapolate (a loaded machine)",
    )
    ap.add_argument("--only", choices=["prepare", "build", "quality", "serve"], action="append")
    ap.add_argument(
        "--report", action="store_true", help="render the table and plots from .scale/*/result.json"
    )
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--factor", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        work: Path = args.work
        if args.stage == "prepare":
            result = stage_prepare(work, args.factor, args.vectors, args.sample)
        elif args.stage == "build":
            result = stage_build(work, args.factor, args.adapt_steps)
        else:
            result = _quality(work)
        print(json.dumps(result))
        return 0
    if args.report:
        results = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(WORK.glob("*/result.json"))]
        print(report(results, ROOT / "docs"))
        return 0
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    for factor in args.factors:
        work = WORK / str(factor)
        vectors = args.vectors or ("perturbed" if factor >= 100 else "real")
        path = work / "result.json"
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        result.update({"factor": factor, "commit": commit})
        only = set(args.only or ["prepare", "build", "quality", "serve"])
        if "prepare" in only:
            if work.exists():
                shutil.rmtree(work)
            work.mkdir(parents=True)
            sample = ["--sample", str(args.sample)]
            result["prepare"] = _sub(
                "prepare", work, ["--factor", str(factor), "--vectors", vectors, *sample]
            )
        if "build" in only:
            steps = ["--adapt-steps", str(args.adapt_steps)] if args.adapt_steps else []
            result["build"] = _sub("build", work, ["--factor", str(factor), *steps])
        if "quality" in only:
            result["quality"] = _sub("quality", work)
        if "serve" in only:
            key = "serve" if args.serve_code is None else "serve_other_code"
            result[key] = serve(work, args.seconds, args.serve_code)
        path.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
