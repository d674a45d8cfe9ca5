"""Text normalisation shared by indexing and querying, so both sides meet in the same form.

The raw articles carry four kinds of noise: pinyin inserted after characters (002), traditional
characters (002, parts of 004), look-alike character corruption (004) and machine "spinning" that swaps
words for near-synonyms (003). `normalize_text` undoes all four; it never touches corpus/raw. The
article-specific tables (look-alikes, spun words) are data: corpus/repairs.yaml.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, cast

import yaml

__all__ = [
    "Repairs",
    "load_repairs",
    "normalize_text",
    "readable_text",
    "strip_pinyin",
    "to_simplified",
    "to_traditional",
]

# A parenthesised pinyin syllable carries at least one tone mark; a bare "(pyyunying)" or "(一天以上)" is
# left alone because it has none.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = re.compile(rf"\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]{{1,8}}\)")

REPAIRS_FILE = "repairs.yaml"


@dataclass(frozen=True)
class Repairs:
    """The article-specific repair tables of corpus/repairs.yaml."""

    lookalikes: dict[int, str]  # a str.translate table
    words: dict[str, str]
    pattern: re.Pattern[str]  # any key of `words`, longest first


def load_repairs(path: Path) -> Repairs:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    words = {str(k): str(v) for k, v in (data.get("words") or {}).items()}
    keys = sorted(map(re.escape, words), key=len, reverse=True)
    return Repairs(
        lookalikes=str.maketrans({str(k): str(v) for k, v in (data.get("lookalikes") or {}).items()}),
        words=words,
        # a pattern that matches nothing when there are no words
        pattern=re.compile("|".join(keys) if keys else "(?!)"),
    )


@lru_cache(maxsize=1)
def _repairs() -> Repairs:
    from service.settings import get_settings

    return load_repairs(get_settings().corpus_dir / REPAIRS_FILE)


class _Converter(Protocol):
    """The part of opencc.OpenCC used here (opencc ships no type information)."""

    def convert(self, text: str) -> str: ...


@lru_cache(maxsize=1)
def _t2s() -> _Converter:
    import opencc

    return cast(_Converter, opencc.OpenCC("t2s"))


def strip_pinyin(text: str) -> str:
    """數(shù)據(jù) -> 數據: drop parenthesised, tone-marked pinyin."""
    return _PINYIN.sub("", text)


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def repair_lookalikes(text: str) -> str:
    return text.translate(_repairs().lookalikes)


def repair_words(text: str) -> str:
    r = _repairs()
    return r.pattern.sub(lambda m: r.words[m.group(0)], text)


def readable_text(text: str) -> str:
    """The normal form before case folding: what a person reads of a noisy passage (simplified, pinyin
    and look-alikes repaired)."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_pinyin(text)
    text = repair_lookalikes(text)
    text = to_simplified(text)
    return repair_words(text)


def normalize_text(text: str) -> str:
    """The one normal form used for indexing and for queries.

    NFKC first (full-width letters and digits to ASCII, so "５W１H" meets "5W1H"), then pinyin removal and
    look-alike repair before 繁→简 (OpenCC would turn 鈳 into 钶 rather than 可), then word repairs,
    which are written in simplified characters. Case is folded for Latin terms such as SOP, KOL, AIDASS.
    """
    text = unicodedata.normalize("NFKC", text)
    text = strip_pinyin(text)
    text = repair_lookalikes(text)
    text = to_simplified(text)
    text = repair_words(text)
    return text.lower()


@lru_cache(maxsize=1)
def _s2t() -> _Converter:
    import opencc

    return cast(_Converter, opencc.OpenCC("s2t"))


def to_traditional(text: str) -> str:
    """简→繁: only to make traditional-character variants of training queries (service/build/adapt.py)."""
    return _s2t().convert(text)
