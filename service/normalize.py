"""Text normalisation shared by indexing and querying, so both sides meet in the same form.

The raw articles carry four kinds of noise: pinyin inserted after characters (002), traditional
characters (002, parts of 004), look-alike character corruption (004) and machine "spinning" that swaps
words for near-synonyms (003). `normalize_text` undoes all four; it never touches corpus/raw.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# A parenthesised pinyin syllable carries at least one tone mark; a bare "(pyyunying)" or "(一天以上)" is
# left alone because it has none.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = re.compile(rf"\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]{{1,8}}\)")

# Corrupted look-alikes seen in 004, each mapped to the character it stands for. Only characters that are
# never right in modern Chinese text go here; context-dependent ones are mapped as whole words below.
LOOKALIKES = str.maketrans(
    {
        "仩": "上", "鈳": "可", "嫆": "容", "徝": "值", "囲": "共", "夶": "大", "嘚": "得", "昰": "是",
        "掱": "手", "赱": "走", "芉": "千", "峩": "我", "叺": "入", "鼡": "用", "苐": "第", "の": "之",
        "┅": "一", "镓": "家", "囿": "有", "囚": "人",
    }
)  # fmt: skip

# Whole-word repairs: 003's spun synonyms (a synonym-swapping tool's output read back) and look-alikes
# that are only wrong in context. Each entry is safe in a user's query too: none is a phrase an operator
# would mean literally when asking about communities.
WORD_REPAIRS: dict[str, str] = {
    "告白": "广告",
    "勾当": "活动",
    "代价": "价值",
    "活泼": "活跃",
    "伴侣圈": "朋友圈",
    "小我私家": "个人",
    "挚友": "好友",
    "自巳": "自己",
    "大部门": "大部分",
    "三天两端": "三天两头",
    "猖獗推销": "疯狂推销",
    "贸易回报": "商业回报",
    "照旧": "还是",
    "简朴": "简单",
    "兜销": "兜售",
    "当物": "货物",
    "人脉干系": "人脉关系",
    "耐性": "耐心",
}
_WORDS = re.compile("|".join(sorted(map(re.escape, WORD_REPAIRS), key=len, reverse=True)))


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def strip_pinyin(text: str) -> str:
    """數(shù)據(jù) -> 數據: drop parenthesised, tone-marked pinyin."""
    return _PINYIN.sub("", text)


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def repair_lookalikes(text: str) -> str:
    return text.translate(LOOKALIKES)


def repair_words(text: str) -> str:
    return _WORDS.sub(lambda m: WORD_REPAIRS[m.group(0)], text)


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
