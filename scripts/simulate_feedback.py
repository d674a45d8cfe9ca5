"""A month of traffic, simulated: does feedback through the learning loop improve ranking?
`python scripts/simulate_feedback.py [--traffic eval/tune.jsonl] [--no-build] [--keep DIR]`

1. Copies the corpus and the index into a scratch folder (KB_CORPUS_DIR, KB_INDEX_DIR of its own);
   the real ones are never touched.
2. Replays the traffic file through the HTTP API (the real app in-process, recording into a scratch
   SQLite query log) and rates every response as a user would: 👍 when a gold principle is in the top 3,
   else 👎 naming the gold principles (gold regions mapped to principle ids with eval/score.py's own
   span match); on an out-of-domain query, 👎 not_covered when it was answered.
3. Applies the curators' actions through the API: every 👎 correction adds the query as a phrasing of
   each named principle (POST /admin/log/phrasings); every wrong refusal (in domain, not answered) and
   wrong answer (out of domain, answered) labels the query in or out of scope (POST /admin/log/scope).
4. Rebuilds the copy (`kb build`, a full build with the adapted encoder: minutes of every core) and
   scores eval/test.jsonl and ../shared/eval/dev.jsonl with scripts/eval.py before and after, by mode.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service.api import create_app
from service.kb import KnowledgeBase
from service.settings import get_settings
from service.store.db import make_engine, upgrade
from service.store.querylog import QueryLog

ROOT = Path(__file__).resolve().parents[1]
KEY = {"Authorization": "Bearer key"}
PATHS = {"search": ("/search", "query"), "ask": ("/ask", "question"), "diagnose": ("/diagnose", "situation")}


def _score_module() -> Any:
    spec = importlib.util.spec_from_file_location("score", ROOT / "eval" / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gold_principles(score: Any, q: dict[str, Any], principles: list[Any]) -> list[str]:
    """The principle whose span best matches each gold region (eval/score.py's match), best grade first."""
    out: list[str] = []
    for reg in sorted(score.regions(q), key=lambda r: -r[3]):
        _doc, a, b, _grade = reg
        best = [p for p in principles if score.matches({"doc": p.source.doc, "start": p.source.start,
                                                         "end": p.source.end}, reg)]  # fmt: skip
        best.sort(key=lambda p: -(min(p.source.end, b) - max(p.source.start, a)))
        if best and best[0].id not in out:
            out.append(best[0].id)
    return out[:3]


def replay(
    client: TestClient, traffic: list[dict[str, Any]], score: Any, kb: KnowledgeBase
) -> dict[str, int]:
    principles = kb.index.catalog.principles
    counts = dict.fromkeys(["queries", "up", "down", "phrasings", "in_scope", "out_of_scope"], 0)
    for q in traffic:
        path, field = PATHS[q["mode"]]
        r = client.post(path, json={field: q["query"], "k": 10}, headers=KEY)
        r.raise_for_status()
        body = r.json()
        rid, answered = body["request_id"], body["answered"]
        counts["queries"] += 1
        if q.get("ood"):
            if answered:  # a wrong answer: the user says the knowledge base should not have answered
                client.post("/feedback", json={"request_id": rid, "rating": "down", "reason": "not_covered"},
                            headers=KEY).raise_for_status()  # fmt: skip
                counts["down"] += 1
                _label(client, rid, False)
                counts["out_of_scope"] += 1
            continue
        top3 = [{"doc": h["source"]["doc"], "start": h["source"]["start"], "end": h["source"]["end"]}
                for h in body["hits"][:3]]  # fmt: skip
        good = any(score.matches(h, reg) for h in top3 for reg in score.regions(q))
        if good:
            client.post("/feedback", json={"request_id": rid, "rating": "up"}, headers=KEY).raise_for_status()
            counts["up"] += 1
        else:
            wanted = gold_principles(score, q, principles)
            fb = {"request_id": rid, "rating": "down", "reason": "wrong", "principle_ids": wanted}
            client.post("/feedback", json=fb, headers=KEY).raise_for_status()
            counts["down"] += 1
            for pid in wanted:
                added = client.post("/admin/log/phrasings", json={"request_id": rid, "principle_id": pid},
                                    headers=KEY)  # fmt: skip
                added.raise_for_status()
                counts["phrasings"] += added.json()["added"]
        if not answered:  # a wrong refusal
            _label(client, rid, True)
            counts["in_scope"] += 1
    return counts


def _label(client: TestClient, rid: str, in_scope: bool) -> None:
    client.post(
        "/admin/log/scope", json={"request_id": rid, "in_scope": in_scope}, headers=KEY
    ).raise_for_status()


def evaluate(gold: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """scripts/eval.py's fused figures, by mode and overall."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "eval.py"), str(gold), "--variant", "fused"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    for line in out.splitlines():
        name, _, data = line.strip().partition(" ")
        if data.strip().startswith("{"):
            rows[name] = json.loads(data)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traffic", type=Path, default=ROOT / "eval" / "tune.jsonl")
    ap.add_argument("--test", type=Path, action="append", help="gold files to score (default test and dev)")
    ap.add_argument("--no-build", action="store_true", help="replay and act only; no rebuild, no scores")
    ap.add_argument("--keep", type=Path, help="scratch folder (kept); default a temporary one, removed")
    args = ap.parse_args()
    # one line per request from the access log and the HTTP client would bury the report
    logging.disable(logging.INFO)
    base = get_settings()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="kb-sim-"))
    corpus, index = scratch / "corpus", scratch / "index"
    shutil.copytree(base.corpus_dir, corpus, dirs_exist_ok=True)
    if not index.exists():
        shutil.copytree(base.index_dir, index, symlinks=True)
    env = {**os.environ, "KB_CORPUS_DIR": str(corpus), "KB_INDEX_DIR": str(index)}
    golds = args.test or [ROOT / "eval" / "test.jsonl", ROOT.parent / "shared" / "eval" / "dev.jsonl"]
    golds = [g for g in golds if g.exists()]
    before = {g.name: evaluate(g, env) for g in golds} if not args.no_build else {}

    settings = base.model_copy(update={"corpus_dir": corpus, "index_dir": index, "api_keys": ["sim:key"]})
    engine = make_engine(f"sqlite:///{scratch / 'kb.sqlite3'}")
    upgrade(engine)
    log = QueryLog(engine)
    kb = KnowledgeBase.load(settings, query_log=log)
    score = _score_module()
    traffic = score.load(args.traffic)
    with TestClient(create_app(settings, kb)) as client:
        counts = replay(client, traffic, score, kb)
    log.close()
    print(f"traffic {args.traffic.name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if args.no_build:
        return 0
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", "build"], env=env, check=True
    )
    print(f"rebuilt in {time.perf_counter() - started:.0f} s")
    after = {g.name: evaluate(g, env) for g in golds}
    head = [
        "nDCG@10 before",
        "after",
        "refused (ood) before",
        "after",
        "answered (in domain) before",
        "after",
    ]
    print("\n| set | mode | " + " | ".join(head) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for g in golds:
        for mode in before[g.name]:
            b, a = before[g.name][mode], after[g.name].get(mode, {})
            cells = [f"{b.get('ndcg@10', '')}", f"{a.get('ndcg@10', '')}", f"{b.get('ood_refused', '')}",
                     f"{a.get('ood_refused', '')}", f"{b.get('in_domain_answered_all', '')}",
                     f"{a.get('in_domain_answered_all', '')}"]  # fmt: skip
            print(f"| {g.name} | {mode} ({b.get('n')}) | " + " | ".join(cells) + " |")
    if not args.keep:
        shutil.rmtree(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
