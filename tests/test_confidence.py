"""The confidence model: fitted at build on labelled requests, read by ask, diagnose and search."""

from __future__ import annotations

import numpy as np
import pytest

from service.confidence import FEATURES, ConfidenceModel, Observation, References, fit
from service.kb import KnowledgeBase
from service.models import AskRequest, DiagnoseRequest, SearchRequest


def _seen(best: float, coverage: float, near_out: float = 0.5) -> Observation:
    dense = np.linspace(best - 0.3, best, 166, dtype=np.float32)
    bm25 = np.zeros(166, dtype=np.float32)
    return Observation("ask", 12, dense, best, bm25, coverage, 0, near_in=0.5, near_out=near_out)


def test_fit_orders_probabilities_by_the_evidence() -> None:
    rng = np.random.default_rng(0)
    seen, labels = [], []
    for _ in range(60):
        seen.append(_seen(0.85 + rng.normal(0, 0.03), 0.9, near_out=0.4))
        labels.append(True)
        seen.append(_seen(0.6 + rng.normal(0, 0.03), 0.3, near_out=0.9))
        labels.append(False)
    model = fit(seen, labels)
    assert model.features == list(FEATURES) and model.trained_on == 120
    assert model.probability(_seen(0.9, 0.95, 0.3)) > 0.9 > 0.1 > model.probability(_seen(0.55, 0.2, 0.95))


def test_references_leave_one_out() -> None:
    refs = References(np.eye(3, dtype=np.float32), np.array([True, False, True]))
    assert refs.nearest(np.array([1, 0, 0], dtype=np.float32)) == (1.0, 0.0)
    assert refs.nearest(np.array([1, 0, 0], dtype=np.float32), skip=0) == (0.0, 0.0)


def test_built_index_carries_a_fitted_model(kb: KnowledgeBase) -> None:
    model = kb.index.confidence
    assert isinstance(model, ConfidenceModel) and model.trained_on >= 500
    assert {"confidence.json", "confidence_references.npy"} <= set(kb.index.manifest.files)


@pytest.mark.parametrize(
    "question", ["社群运营工资一般多少", "微信群最多能拉多少人?", "红烧肉怎么做才不腻", "明天北京天气怎么样"]
)
def test_out_of_scope_questions_are_not_covered(kb: KnowledgeBase, question: str) -> None:
    resp = kb.ask(AskRequest(question=question))
    assert (resp.answered, resp.coverage, resp.hits) == (False, "not_covered", [])
    assert resp.confidence < 0.5 and 1 <= len(resp.suggestions) <= 3
    assert all(f"「{s.title}」" in resp.answer for s in resp.suggestions)


def test_a_question_half_covered_says_which_half_is_not(kb: KnowledgeBase) -> None:
    resp = kb.ask(AskRequest(question="群里全是广告怎么办,另外社群运营工资一般多少"))
    assert resp.answered and resp.coverage == "partial" and resp.hits
    assert resp.uncovered == ["社群运营工资一般多少"] and "社群运营工资一般多少" in resp.answer


def test_diagnose_declines_what_is_not_a_community_problem(kb: KnowledgeBase) -> None:
    resp = kb.diagnose(DiagnoseRequest(situation="今天中午吃什么好呢,我想吃火锅"))
    assert (resp.answered, resp.hits) == (False, []) and resp.message and resp.confidence < 0.5
    real = kb.diagnose(DiagnoseRequest(situation="群里全是广告,没人说话,我每天按模板回消息"))
    assert real.answered and real.hits and real.confidence >= 0.5 and real.message is None


def test_search_says_when_nothing_is_relevant(kb: KnowledgeBase) -> None:
    off = kb.search(SearchRequest(query="xyz"))
    on = kb.search(SearchRequest(query="群规"))
    assert (off.answered, on.answered) == (False, True) and off.confidence < on.confidence


@pytest.mark.parametrize("seed", range(8))
def test_agreement_is_read_as_the_model_was_fitted(seed: int) -> None:
    from service.confidence import _in_top

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 4 + seed, 300).astype(np.float32)  # ties across the fifth place
    for i in range(0, 300, 7):
        assert _in_top(values, i, 5) == (i in np.argsort(-values)[:5])
