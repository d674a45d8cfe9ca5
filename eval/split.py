#!/usr/bin/env python3
"""Split our labelled queries (eval/stress/*.jsonl) into a tuning part and a test part.

The split is by a hash of each query's id, so it is stable when files grow and independent of the
queries' wording: `tune.jsonl` may be looked at and tuned on; `test.jsonl` is only ever scored.

    python eval/split.py        # writes eval/tune.jsonl, eval/test.jsonl and corpus/calibration/tune.jsonl
"""

from __future__ import annotations

import hashlib
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def part(qid: str) -> str:
    return "tune" if int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2 == 0 else "test"


def main() -> None:
    rows: dict[str, list[str]] = {"tune": [], "test": []}
    for path in sorted((HERE / "stress").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows[part(json.loads(line)["id"])].append(line)
    for name, lines in rows.items():
        (HERE / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        ood = sum('"ood": true' in line for line in lines)
        print(f"{name}: {len(lines) - ood} in-domain + {ood} out-of-scope")
    # the tuning part also trains the confidence model (kb build reads corpus/calibration/*.jsonl);
    # the test part never does
    requests = []
    for line in rows["tune"]:
        q = json.loads(line)
        in_scope = not q.get("ood")
        requests.append(
            {"id": q["id"], "mode": q["mode"], "text": q["query"], "in_scope": in_scope,
             "kind": "in" if in_scope else q.get("style", "out")}
        )  # fmt: skip
    out = HERE.parent / "corpus" / "calibration" / "tune.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests), encoding="utf-8")
    print(f"{out.relative_to(HERE.parent)}: {len(requests)} requests for the confidence model")


if __name__ == "__main__":
    main()
