"""Validate the domain-adapted encoder on curated questions it never saw.

A seeded share of every principle's curated questions is withheld from training AND from the index;
each withheld question is then a query whose answer is known. Dense retrieval only (max cosine over a
principle's vectors), base model vs adapted model: MRR, recall@1 and recall@5 of the right principle.

    python scripts/adapt_eval.py [--share 0.25] [--epochs 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.aliases import load_aliases
from service.build.adapt import AdaptConfig, train
from service.corpus import load_corpus
from service.embedder import SentenceTransformerEmbedder, resolve_model
from service.index import principle_fields
from service.normalize import normalize_text
from service.retrieval.base import DocumentVectors
from service.settings import get_settings


def documents(model: str, principles: list) -> DocumentVectors:
    owners, texts = [], []
    for i, p in enumerate(principles):
        for _, text in principle_fields(p):
            owners.append(i)
            texts.append(text)
    return DocumentVectors(SentenceTransformerEmbedder(model).encode(texts), np.array(owners), texts)


def evaluate(
    model: str, principles: list, held: list[tuple[str, int]], docs: DocumentVectors
) -> dict[str, float]:
    emb = SentenceTransformerEmbedder(model)
    owners, doc = list(docs.owners), docs.vectors
    q = emb.encode([normalize_text(t) for t, _ in held])
    sims = q @ doc.T
    owners_a = np.array(owners)
    best = np.full((len(held), len(principles)), -2.0, dtype=np.float32)
    for i in range(len(principles)):
        best[:, i] = sims[:, owners_a == i].max(axis=1)
    ranks = [int((best[r] > best[r, gold]).sum()) + 1 for r, (_, gold) in enumerate(held)]
    return {
        "mrr": round(float(np.mean([1 / r for r in ranks])), 4),
        "r@1": round(float(np.mean([r <= 1 for r in ranks])), 4),
        "r@5": round(float(np.mean([r <= 5 for r in ranks])), 4),
        "n": len(held),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--share", type=float, default=0.25)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--variants", type=int, default=1)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-base", action="store_true")
    args = ap.parse_args()
    settings = get_settings()
    corpus = load_corpus(settings.corpus_dir)
    aliases = load_aliases(settings.corpus_dir)
    rng = random.Random(args.seed)
    held: list[tuple[str, int]] = []
    kept = []
    for i, p in enumerate(corpus.principles):
        out = [q for q in p.questions if rng.random() < args.share]
        held += [(q, i) for q in out]
        kept.append(p.model_copy(update={"questions": [q for q in p.questions if q not in out]}))
    base = resolve_model(settings.model)
    docs = documents(base, kept)
    if not args.skip_base:
        print("base   ", evaluate(base, kept, held, docs), flush=True)
    cfg = replace(
        AdaptConfig(),
        epochs=args.epochs,
        variants=args.variants,
        learning_rate=args.lr,
        batch_size=args.batch,
        temperature=args.temperature,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.time()
        out = train(base, kept, aliases, docs, Path(tmp) / "m", cfg, frozenset(q for q, _ in held), print)
        print(f"trained in {time.time() - t:.0f}s")
        print("adapted", evaluate(str(out), kept, held, docs), flush=True)


if __name__ == "__main__":
    main()
