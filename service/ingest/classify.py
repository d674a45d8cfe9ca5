"""A suggested type for a drafted principle, with its top three and their probabilities: logistic
regression over character n-grams of the passage and of the list it belongs to, plus cue words
(误区/陷阱/坑/错误 for pitfalls, 第X步 for steps …), trained on the curated principles at the moment of
drafting (a second, so the model is never stale and never stored)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.models import Principle
from service.normalize import normalize_text

__all__ = ["TypeClassifier", "TypeGuess", "train_classifier"]

_CUES: dict[str, re.Pattern[str]] = {
    "pitfall_cue": re.compile(r"误区|陷阱|坑|错误|致命|失败|误解|不要|别让|问题|死掉|自嗨|滥用"),
    "negation": re.compile(r"不是|不能|没有|并非|不等于|不做|不设"),
    "step_cue": re.compile(r"第[一二三四五六七八九十\d]步|步骤|三步|四步"),
    "role_cue": re.compile(r"角色|管家|顾问|客服|群主|大佬|团宠|kol|管理员"),
    "type_cue": re.compile(r"引流群|转化群|粉丝群|快闪群|复购群|群类型"),
    "content_cue": re.compile(r"内容|栏目|资讯|干货"),
    "element_cue": re.compile(r"要素|维度|价值"),
    "rule_cue": re.compile(r"群规|规则|制度|禁止|奖惩|公告|广告"),
    "case_cue": re.compile(r"例子|举例|比如|案例"),  # no company names: they were 004's own
    "practice_cue": re.compile(r"应该|需要|一定要|建议|可以|方法|怎么做|做好"),
}


@dataclass(frozen=True)
class TypeGuess:
    type: str
    confidence: float
    top3: list[tuple[str, float]]


def _text(passage: str, context: str) -> str:
    return f"{normalize_text(context)[:60]}|{normalize_text(passage)[:400]}"


CUE_WEIGHT = 1.0


def _cues(passage: str, context: str) -> list[float]:
    head, body = normalize_text(context + passage[:40]), normalize_text(passage)
    return [CUE_WEIGHT * float(bool(p.search(head))) for p in _CUES.values()] + [
        CUE_WEIGHT * min(len(p.findall(body)), 3) / 3 for p in _CUES.values()
    ]


class TypeClassifier:
    def __init__(self, vectorizer: Any, model: Any, classes: list[str]) -> None:
        self._vectorizer = vectorizer
        self._model = model
        self.classes = classes

    def _features(self, items: Sequence[tuple[str, str]]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        chars = self._vectorizer.transform([_text(p, c) for p, c in items])
        cues = csr_matrix(np.array([_cues(p, c) for p, c in items], dtype=np.float64))
        return hstack([chars, cues]).tocsr()

    def predict(
        self, items: Sequence[tuple[str, str]], together: Sequence[Sequence[int]] = ()
    ) -> list[TypeGuess]:
        """Each item is (passage, context: the heading and title of its list, if any). `together` lists
        the items of each list: the items of a list are mostly of one type, so each item's
        probabilities are averaged with its list's mean."""
        if not items:
            return []
        probs = np.asarray(self._model.predict_proba(self._features(items)), dtype=np.float64)
        probs = probs / probs.sum(axis=1, keepdims=True)  # one-vs-rest scores as a distribution
        mixed = probs.copy()
        for members in together:
            if len(members) >= 2:
                mean = probs[list(members)].mean(axis=0)
                for k in members:
                    mixed[k] = 0.3 * probs[k] + 0.7 * mean
        probs = mixed
        out = []
        for row in probs:
            order = np.argsort(-row)[:3]
            top3 = [(self.classes[i], round(float(row[i]), 3)) for i in order]
            out.append(TypeGuess(top3[0][0], top3[0][1], top3))
        return out


def _context(p: Principle, group_titles: dict[str, str]) -> str:
    return group_titles.get(p.group or "", "")


def train_classifier(principles: Sequence[Principle], group_titles: dict[str, str]) -> TypeClassifier:
    """Fit on curated principles: the passage (the quote) and its list's title as context."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    items = [(p.source.quote, _context(p, group_titles)) for p in principles]
    labels = [p.type for p in principles]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    chars = vectorizer.fit_transform([_text(p, c) for p, c in items])
    cues = csr_matrix(np.array([_cues(p, c) for p, c in items], dtype=np.float64))
    # liblinear (one class against the rest): a fraction of a second here, where lbfgs took seconds
    model = OneVsRestClassifier(
        LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", solver="liblinear")
    )
    model.fit(hstack([chars, cues]).tocsr(), labels)
    return TypeClassifier(vectorizer, model, [str(c) for c in model.classes_])
