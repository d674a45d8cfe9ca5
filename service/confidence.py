"""Whether the knowledge base covers a request: a small learned model instead of one hand threshold.

One cosine cannot tell "微信群最多能拉多少人" (near the domain's words, not in the articles) from a real
question in unusual wording. The model reads several signals of one request (how close the best
principle is, how far it stands out, whether dense retrieval and BM25 agree, how much of the request's
vocabulary the articles use, whether jargon was recognised, how long the request is, which operation it
is) and gives a probability that the articles cover it.

It is fitted by `kb build` on our own labelled requests (corpus/calibration/labelled.jsonl: in-scope ones
and out-of-scope ones, a third of the latter near misses), run through the index just built, so it is
calibrated for whichever encoder that index uses. Logistic regression: few features, a few hundred
examples, and a probability people can read. Serving needs only the weights (a dot product), not
scikit-learn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from service.query import Query, QueryEncoder
from service.retrieval.base import Signals
from service.retrieval.fusion import Retrieval

Mode = Literal["ask", "diagnose", "search"]
# how many clauses each operation encodes (QueryEncoder.query's min_clauses): the model must see
# requests prepared exactly as they are served
CLAUSES: dict[str, int | None] = {"ask": 2, "diagnose": 1, "search": None}
DENSE = "dense"
BM25 = "bm25"
MODES: tuple[Mode, ...] = ("ask", "diagnose", "search")
CONFIDENCE_FILE = "confidence.json"
CALIBRATION_DIR = "calibration"

FEATURES = (
    "dense_best",  # highest cosine of the whole request to any principle text
    "clause_best",  # highest cosine of any one clause (a long request dilutes its own embedding)
    "dense_margin",  # best minus the 10th best principle: a real match stands out
    "bm25_log",  # log(1 + best BM25): the articles' own words in the request
    "coverage",  # share of the request's words that occur in the articles
    "agreement",  # dense's best principle is among BM25's five best
    "alias_hits",  # jargon recognised by the alias table (capped at 2)
    "length_log",  # log of the request's length in characters
    "mode_diagnose",
    "mode_search",
    "near_in",  # cosine to the closest labelled in-scope request
    "near_out",  # cosine to the closest labelled out-of-scope request (salaries, bans, live-streaming …)
)
REFERENCES_FILE = "confidence_references.npy"


@dataclass(frozen=True)
class Observation:
    """What one request's retrieval saw, as the confidence model needs it."""

    mode: Mode
    length: int
    dense: npt.NDArray[np.float32]  # per principle: best cosine of the whole request
    clause_best: float  # best cosine over the request's clauses (= whole request's when one clause)
    bm25: npt.NDArray[np.float32]  # per principle
    coverage: float
    alias_hits: int
    near_in: float
    near_out: float

    def features(self) -> list[float]:
        # selections, not sorts: at 17k principles sorting both signals cost a millisecond a request
        n = self.dense.size
        best = float(self.dense.max()) if n else 0.0
        tenth = float(np.partition(self.dense, n - min(10, n))[n - min(10, n)]) if n else 0.0
        bm25_best = float(self.bm25.max()) if self.bm25.size else 0.0
        agree = float(n > 0 and bm25_best > 0 and _in_top(self.bm25, int(np.argmax(self.dense)), 5))
        return [
            best,
            max(best, self.clause_best),
            best - tenth,
            math.log1p(bm25_best),
            self.coverage,
            agree,
            float(min(self.alias_hits, 2)),
            math.log(max(1, self.length)),
            float(self.mode == "diagnose"),
            float(self.mode == "search"),
            self.near_in,
            self.near_out,
        ]


def _in_top(values: npt.NDArray[np.float32], i: int, k: int) -> bool:
    """Whether entry i is among the first k of np.argsort(-values), as the model was fitted with."""
    higher = int(np.count_nonzero(values > values[i]))
    if higher >= k:
        return False
    if higher + int(np.count_nonzero(values == values[i])) <= k:
        return True
    return i in np.argsort(-values)[:k]  # ties across the k-th place: the sort's own choice decides


class CalibrationExample(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    mode: Mode
    text: str = Field(min_length=1)
    in_scope: bool
    kind: str


class ConfidenceModel(BaseModel):
    """Weights of the fitted logistic regression, saved in the index build."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    threshold: float = Field(0.5, description="answer when the probability reaches this")
    trained_on: int = 0

    def probability(self, seen: Observation) -> float:
        x = (np.asarray(seen.features()) - np.asarray(self.mean)) / np.asarray(self.scale)
        z = float(x @ np.asarray(self.weights) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def save(self, folder: Path) -> None:
        (folder / CONFIDENCE_FILE).write_text(self.model_dump_json(indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> ConfidenceModel:
        return cls.model_validate_json((folder / CONFIDENCE_FILE).read_text(encoding="utf-8"))


def load_calibration(corpus_dir: Path) -> list[CalibrationExample]:
    """Every labelled request of corpus/calibration/*.jsonl (labelled.jsonl, written for this; tune.jsonl,
    the tuning part of eval/, written by eval/split.py)."""
    out = []
    for path in sorted((corpus_dir / CALIBRATION_DIR).glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        out += [CalibrationExample.model_validate(json.loads(line)) for line in lines if line.strip()]
    return out


def fit(seen: Sequence[Observation], labels: Sequence[bool], c: float = 1.0) -> ConfidenceModel:
    """Logistic regression on standardised features, classes weighted equally (there are fewer
    out-of-scope examples of each kind than in-scope ones, and both errors matter)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray([s.features() for s in seen], dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant feature: nothing to learn, nothing to divide by
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=1000)
    clf.fit((x - mean) / scale, y)
    return ConfidenceModel(
        features=list(FEATURES),
        mean=mean.round(8).tolist(),
        scale=scale.round(8).tolist(),
        weights=clf.coef_[0].round(6).tolist(),
        bias=round(float(clf.intercept_[0]), 6),
        trained_on=len(y),
    )


@dataclass(frozen=True)
class References:
    """The labelled requests' vectors (as the query encoder encodes them) and labels: a near miss is
    recognised by its likeness to the out-of-scope requests we wrote (platform tools, salaries, bans),
    which no cosine to the articles can show."""

    vectors: npt.NDArray[np.float32]
    in_scope: npt.NDArray[np.bool_]

    def nearest(self, vector: npt.NDArray[np.float32], skip: int | None = None) -> tuple[float, float]:
        sims = self.vectors @ vector
        if skip is not None:  # leave-one-out while fitting: a request is not its own neighbour
            sims = sims.copy()
            sims[skip] = -1.0
        near_in = float(sims[self.in_scope].max()) if self.in_scope.any() else 0.0
        near_out = float(sims[~self.in_scope].max()) if (~self.in_scope).any() else 0.0
        return near_in, near_out

    def save(self, folder: Path) -> None:
        rows = np.hstack([self.vectors, self.in_scope[:, None].astype(np.float32)])
        np.save(folder / REFERENCES_FILE, rows, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> References:
        rows = np.load(folder / REFERENCES_FILE, allow_pickle=False).astype(np.float32)
        return cls(np.ascontiguousarray(rows[:, :-1]), rows[:, -1] > 0.5)


def observe(
    mode: Mode,
    query: Query,
    retrieval: Retrieval,
    signals: Signals,
    references: References | None = None,
    skip: int | None = None,
) -> Observation:
    """The confidence model's view of one request, from the signals retrieval already computed."""
    clause_best = max(
        (float(retrieval.signals(c, [DENSE])[DENSE].values.max()) for c in query.clauses), default=-1.0
    )
    empty = np.zeros(len(retrieval.catalog), dtype=np.float32)
    near_in, near_out = references.nearest(query.vector, skip) if references is not None else (0.0, 0.0)
    return Observation(
        mode=mode,
        length=len(query.text),
        dense=signals[DENSE].values if DENSE in signals else empty,
        clause_best=clause_best,
        bm25=signals[BM25].values if BM25 in signals else empty,
        coverage=retrieval.coverage(query),
        alias_hits=len(query.rewrites),
        near_in=near_in,
        near_out=near_out,
    )


@dataclass(frozen=True)
class Judge:
    """The fitted model and the threshold in force (KB_ANSWER_THRESHOLD overrides the fitted one)."""

    model: ConfidenceModel | None
    references: References | None = None
    override: float | None = None

    @property
    def threshold(self) -> float:
        if self.override is not None:
            return self.override
        return self.model.threshold if self.model is not None else 0.5

    def probability(self, mode: Mode, query: Query, retrieval: Retrieval, signals: Signals) -> float:
        """1.0 when the index has no model (built without calibration requests): nothing is declined."""
        if self.model is None:
            return 1.0
        seen = observe(mode, query, retrieval, signals, self.references)
        return round(self.model.probability(seen), 4)

    def covers(self, probability: float) -> bool:
        return probability >= self.threshold


def calibrate(
    examples: Sequence[CalibrationExample], encoder: QueryEncoder, retrieval: Retrieval, folder: Path
) -> ConfidenceModel:
    """Run the labelled requests through the index as they would be served, fit the model, and save it
    with the requests' vectors into the build `folder`."""
    queries = [encoder.query(e.text, min_clauses=CLAUSES[e.mode]) for e in examples]
    references = References(
        np.stack([q.vector for q in queries]).astype(np.float32), np.array([e.in_scope for e in examples])
    )
    seen = [
        observe(e.mode, q, retrieval, retrieval.signals(q), references, skip=i)
        for i, (e, q) in enumerate(zip(examples, queries, strict=True))
    ]
    model = fit(seen, [e.in_scope for e in examples])
    model.save(folder)
    references.save(folder)
    return model
