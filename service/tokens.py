"""Chinese tokens for BM25: jieba with the domain's terms, over normalised text."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Protocol, cast

__all__ = ["STOPWORDS", "tokenize", "word_frequency", "words"]

_DATA = Path(__file__).with_name("data")
_USERDICT = _DATA / "userdict.txt"
_lock = threading.Lock()

# Function words carry no topic; dropping them keeps BM25 from rewarding "的" and "怎么".
STOPWORDS = frozenset(
    line.strip()
    for line in (_DATA / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
_PUNCT = re.compile(r"^[\W_]+$")


class _Jieba(Protocol):
    """The part of jieba.Tokenizer used here (jieba ships no type information)."""

    FREQ: Mapping[str, int]

    def lcut(self, sentence: str) -> list[str]: ...


@lru_cache(maxsize=1)
def _load() -> _Jieba:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()  # load the dictionary now: lazily, every concurrent first caller would wait on it
    with _USERDICT.open("rb") as f:  # a path would leave jieba's file handle open
        tk.load_userdict(f)
    return cast(_Jieba, tk)


def _tokenizer() -> _Jieba:
    # lru_cache alone may run _load twice under concurrent first calls; after that, cutting is read-only
    with _lock:
        return _load()


@lru_cache(maxsize=1024)
def _segments(normalized: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Precise-mode words and search-mode tokens of one text from one jieba pass. Search mode is the
    precise cut with each long word preceded by its 2- and 3-character parts that the dictionary knows,
    exactly as jieba's cut_for_search derives it; calling both modes cut every query twice (BM25 reads
    the one, vocabulary coverage the other)."""
    tk = _tokenizer()
    precise = tk.lcut(normalized)
    search: list[str] = []
    for w in precise:
        if len(w) > 2:
            search += [g for g in (w[i : i + 2] for i in range(len(w) - 1)) if tk.FREQ.get(g)]
        if len(w) > 3:
            search += [g for g in (w[i : i + 3] for i in range(len(w) - 2)) if tk.FREQ.get(g)]
        search.append(w)
    return tuple(precise), tuple(search)


def _kept(found: tuple[str, ...]) -> list[str]:
    return [w for w in (w.strip() for w in found) if w and w not in STOPWORDS and not _PUNCT.match(w)]


def tokenize(normalized: str) -> list[str]:
    """Search-mode segmentation (long words also yield their parts), minus stopwords and punctuation."""
    return _kept(_segments(normalized)[1])


def words(normalized: str) -> list[str]:
    """Precise-mode words (no sub-word expansion), minus stopwords and punctuation."""
    return _kept(_segments(normalized)[0])


def word_frequency(word: str) -> int:
    """How often jieba's general dictionary counts the word (0 when it does not know it): drafting's
    keywords prefer a passage's rarer terms (门槛 800) over everyday words (真的 6277, 不是 46856)."""
    return int(_tokenizer().FREQ.get(word, 0) or 0)
