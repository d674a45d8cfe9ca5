"""Calibrate ask's refusal threshold on our own labelled questions: `python scripts/calibrate.py`.

tests/data/calibration.yaml holds questions the articles answer and questions they cannot (weather,
cooking, code, tax, and near misses). Prints each question's confidence and the threshold halfway between
the highest out-of-domain and the lowest in-domain confidence; set it as KB_ANSWER_THRESHOLD (the default
in service/settings.py was produced this way for m3e-small). Rerun after changing the model or corpus.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from service.kb import KnowledgeBase
from service.models import AskRequest
from service.settings import get_settings

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "calibration.yaml"


def main() -> int:
    kb = KnowledgeBase.load(get_settings())
    labelled = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    conf: dict[str, list[tuple[float, str]]] = {}
    for label in ("in_domain", "out_of_domain"):
        conf[label] = sorted((kb.ask(AskRequest(question=q)).confidence, q) for q in labelled[label])
        print(label)
        for c, q in conf[label]:
            print(f"  {c:.4f}  {q}")
    low_in, high_out = conf["in_domain"][0][0], conf["out_of_domain"][-1][0]
    threshold = (low_in + high_out) / 2
    current = kb.settings.answer_threshold
    correct = sum(c >= current for c, _ in conf["in_domain"]) + sum(
        c < current for c, _ in conf["out_of_domain"]
    )
    total = len(conf["in_domain"]) + len(conf["out_of_domain"])
    print(
        f"lowest in-domain {low_in:.4f}, highest out-of-domain {high_out:.4f}, margin {low_in - high_out:.4f}"
    )
    print(f"suggested threshold {threshold:.4f}; current {current} classifies {correct}/{total} correctly")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
