#!/usr/bin/env python3
"""Check labelled query files in the format of ../shared/eval/dev.jsonl (standard library only).

Each line: {"id", "mode": "ask"|"diagnose"|"search", "query", "relevant": [{"doc", "from", "to", "grade"}],
"ood"?: true, "style"?: str, "note"?: str}. A region runs from the first occurrence of `from` to the end
of the first occurrence of `to` after it, as the scorer resolves it; this check insists that `from`
occurs once in its article, that `to` follows it, and that the region is passage-sized.

    python eval/check_gold.py eval/stress/*.jsonl
"""

from __future__ import annotations

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
RAW = HERE.parent / "corpus" / "raw"
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in RAW.glob("*.txt")}
MODES = {"ask", "diagnose", "search"}
MAX_REGION = 1500


def check_line(q: dict[str, object], seen: set[str]) -> list[str]:
    errs: list[str] = []
    qid = q.get("id")
    if not isinstance(qid, str) or not qid:
        return ["missing id"]
    if qid in seen:
        errs.append("duplicate id")
    seen.add(qid)
    if q.get("mode") not in MODES:
        errs.append(f"mode must be one of {sorted(MODES)}")
    query = q.get("query")
    if not isinstance(query, str) or not query.strip():
        errs.append("empty query")
    rel = q.get("relevant")
    if not isinstance(rel, list):
        return [*errs, "relevant must be a list"]
    if q.get("ood"):
        if rel:
            errs.append("an ood query has no relevant regions")
        return errs
    if not rel:
        errs.append("an in-domain query needs at least one region")
    for r in rel:
        doc, a, b, grade = r.get("doc"), r.get("from"), r.get("to"), r.get("grade")
        if doc not in TEXTS:
            errs.append(f"unknown doc {doc!r}")
            continue
        t = TEXTS[doc]
        if grade not in (1, 2):
            errs.append("grade must be 1 or 2")
        if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
            errs.append("from/to must be non-empty strings")
            continue
        n = t.count(a)
        if n != 1:
            errs.append(f"from {a!r} occurs {n} times in {doc}")
            continue
        start = t.index(a)
        try:
            end = t.index(b) + len(b)
        except ValueError:
            errs.append(f"to {b!r} not in {doc}")
            continue
        if end <= start + len(a) - len(b) or t.index(b) < start:
            errs.append(f"the first occurrence of to {b!r} is before from {a!r}")
        elif end - start > MAX_REGION:
            errs.append(f"region {a!r}…{b!r} is {end - start} characters (max {MAX_REGION})")
    if not any(r.get("grade") == 2 for r in rel):
        errs.append("at least one region must have grade 2")
    return errs


def main(paths: list[str]) -> int:
    bad = 0
    seen: set[str] = set()
    for path in paths:
        for n, line in enumerate(pathlib.Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"{path}:{n}: not JSON ({exc})")
                bad += 1
                continue
            for e in check_line(q, seen):
                print(f"{path}:{n}: {q.get('id')}: {e}")
                bad += 1
    print(f"{len(seen)} queries, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
