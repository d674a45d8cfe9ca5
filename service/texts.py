"""The texts indexed for each principle, in one place for every producer (curated YAML, later drafts):
what the dense retriever embeds (`principle_fields`, passages cut into sentences) and what BM25 reads."""

from __future__ import annotations

import re

from service.models import Principle
from service.normalize import normalize_text
from service.tokens import tokenize

__all__ = ["MAX_SENTENCE_CHARS", "bm25_document", "principle_fields", "split_sentences"]

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;…\n])")
_CLAUSE_END = re.compile(r"(?<=[，,：:])")
MAX_SENTENCE_CHARS = 80


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, long ones cut at commas: m3e matches sentence to sentence far better
    than sentence to passage, so each passage contributes one vector per sentence."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if len(sentence) <= MAX_SENTENCE_CHARS:
            out.append(sentence)
            continue
        chunk = ""
        for clause in _CLAUSE_END.split(sentence):
            if chunk and len(chunk) + len(clause) > MAX_SENTENCE_CHARS:
                out.append(chunk)
                chunk = ""
            chunk += clause
        out.append(chunk)
    return [s for s in (s.strip() for s in out) if len(s) >= 6]


def principle_fields(p: Principle) -> list[tuple[str, str]]:
    """What gets embedded for one principle, each (field, normalised text), without repeats."""
    fields = [("title", p.title), ("summary", p.summary)]
    if p.advice:
        fields.append(("advice", p.advice))
    fields += [("symptom", s) for s in p.symptoms]
    fields += [("question", q) for q in p.questions]
    fields += [("phrasing", q) for q in p.phrasings]
    fields += [("keyword", k) for k in p.keywords if len(k) >= 2]
    fields += [("passage", s) for s in split_sentences(p.source.quote)]
    seen: set[str] = set()
    out = []
    for field, text in fields:
        norm = normalize_text(text)
        if norm not in seen:
            seen.add(norm)
            out.append((field, norm))
    return out


def bm25_document(p: Principle) -> list[str]:
    """BM25's one document per principle: every text field and the quote, tokenised."""
    fields = [p.title, p.summary, p.advice or "", *p.symptoms, *p.questions, *p.phrasings, *p.keywords]
    fields.append(p.source.quote)
    return tokenize(normalize_text(" ".join(fields)))
