"""Validate the curated corpus and print what each principle cites: `python scripts/check_corpus.py [-v]`.

For curators: run after every edit. Exits 1 with the file and entry named when a quote does not resolve.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from service.corpus import load_corpus
from service.errors import CorpusError


def main() -> int:
    root = Path(__file__).resolve().parents[1] / "corpus"
    try:
        corpus = load_corpus(root)
    except CorpusError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    verbose = "-v" in sys.argv
    for p in corpus.principles:
        span = p.source.end - p.source.start
        flag = "  LONG" if span > 700 else ""
        print(
            f"{p.id:40s} {p.type:17s} {p.source.doc[:3]} {p.source.start:5d}-{p.source.end:5d} ({span}){flag}"
        )
        if verbose:
            print(f"    {p.title}: {p.source.quote[:60]}…{p.source.quote[-30:]}")
    print(dict(Counter(p.type for p in corpus.principles)), "total", len(corpus.principles))
    for g in corpus.groups:
        print(f"group {g.id}: {g.size} members, ordered={g.ordered}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
