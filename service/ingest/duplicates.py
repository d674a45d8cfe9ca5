"""Is a new article already in the corpus? The same bytes, or a near-duplicate: a traditional-character,
pinyin-noised, spun or lightly edited copy. Both sides are brought to the project's normal form
(normalize_text: 繁→简, pinyin and look-alikes removed), reduced to Chinese characters, letters and
digits (so untoned or bracketed noise and punctuation do not count), and compared as sets of 5-character
shingles: the share of the smaller article's shingles found in the other (containment), which stays
high for a copy with edits or with another text appended. Five articles make exact sets affordable;
MinHash would replace them at thousands."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from service.normalize import normalize_text

__all__ = ["NEAR_DUPLICATE", "Duplicate", "find_duplicates", "shingles"]

# the five articles share at most 0.02 with each other; edited copies keep above 0.6
NEAR_DUPLICATE = 0.4
_KEEP = re.compile(r"[^\u4e00-\u9fff0-9a-z]")
_TONED_FREE = re.compile(r"[(（][a-zü]{1,8}[)）]")


def shingles(text: str, n: int = 5) -> set[str]:
    norm = _KEEP.sub("", _TONED_FREE.sub("", normalize_text(text)))
    return {norm[i : i + n] for i in range(max(0, len(norm) - n + 1))}


@dataclass(frozen=True)
class Duplicate:
    doc: str
    kind: str  # "exact" or "near"
    score: float  # containment, 1.0 for exact


def find_duplicates(data: bytes, text: str, corpus: dict[str, bytes]) -> list[Duplicate]:
    """`corpus`: raw file name -> bytes. Best first."""
    sha = hashlib.sha256(data).hexdigest()
    out = [Duplicate(d, "exact", 1.0) for d, b in corpus.items() if hashlib.sha256(b).hexdigest() == sha]
    mine = shingles(text)
    if mine:
        for doc, b in corpus.items():
            if any(d.doc == doc for d in out):
                continue
            theirs = shingles(b.decode("utf-8", errors="replace"))
            if not theirs:
                continue
            score = len(mine & theirs) / min(len(mine), len(theirs))
            if score >= NEAR_DUPLICATE:
                out.append(Duplicate(doc, "near", round(score, 3)))
    return sorted(out, key=lambda d: -d.score)
