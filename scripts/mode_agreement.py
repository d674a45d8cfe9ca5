"""How often the chat endpoint's mode choice (`choose_mode` in service/platforms/chat.py) agrees with the
labelled mode of the requests in eval/ and corpus/calibration/: `python scripts/mode_agreement.py [--errors]`.

Labels: `diagnose` is a situation; `ask` and `search` (keyword queries) are both answered by ask. The
rules were written looking at the tuning files (eval/tune.jsonl, corpus/calibration/tune.jsonl); the
others are held out. `--errors` prints the texts the choice disagrees with.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from service.platforms.chat import choose_mode

ROOT = Path(__file__).resolve().parents[1]
STRESS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "eval" / "stress").glob("*.jsonl"))
SETS = {
    "tune": ["eval/tune.jsonl", "corpus/calibration/tune.jsonl"],
    "held out: eval/test.jsonl and eval/stress": ["eval/test.jsonl", *STRESS],
    "held out: corpus/calibration/labelled.jsonl": ["corpus/calibration/labelled.jsonl"],
}


def labelled(files: list[str]) -> list[tuple[str, str]]:
    rows = []
    for name in files:
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append((r.get("query") or r["text"], "diagnose" if r["mode"] == "diagnose" else "ask"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--errors", action="store_true", help="print the disagreements")
    args = ap.parse_args()
    for title, files in SETS.items():
        rows = labelled(files)
        pairs = Counter((label, choose_mode(text)) for text, label in rows)
        agree = pairs[("ask", "ask")] + pairs[("diagnose", "diagnose")]
        print(f"{title}: {agree}/{len(rows)} = {agree / len(rows):.3f}  (label, chosen): {dict(pairs)}")
        if args.errors:
            for text, label in rows:
                if choose_mode(text) != label:
                    print(f"  {label} -> {choose_mode(text)}: {text}")


if __name__ == "__main__":
    main()
