from pathlib import Path

import pytest

from service.normalize import normalize_text, strip_pinyin

RAW = Path(__file__).resolve().parents[1] / "corpus" / "raw"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # 002: pinyin after characters, traditional characters
        (
            "相關數(shù)據(jù)表明,每一天至少有超過500萬個微信群被創(chuàng)建",
            "相关数据表明,每一天至少有超过500万个微信群被创建",
        ),
        ("01、微信群運營三個致命問題", "01、微信群运营三个致命问题"),
        # 004: look-alike corruption (OpenCC alone would turn 鈳 into 钶)
        ("並不是所有的人都鈳以有资格进入一个社群", "并不是所有的人都可以有资格进入一个社群"),
        ("人在人的共同体仩要获得共识", "人在人的共同体上要获得共识"),
        ("┅直没有有价值的内容", "一直没有有价值的内容"),
        ("激活了群的活跃屡试不爽", "激活了群的活跃屡试不爽"),
        ("和夶咖对话", "和大咖对话"),
        # 003: spun words mapped back
        ("把社群当做告白和卖货渠道", "把社群当做广告和卖货渠道"),
        ("把社群当做勾当组织渠道", "把社群当做活动组织渠道"),
        ("三天两端打个小告白", "三天两头打个小广告"),
        # full-width Latin and case
        ("５Ｗ１Ｈ自查和SOP", "5w1h自查和sop"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_parentheses_without_tone_marks_survive() -> None:
    assert strip_pinyin("不是很长时间都没人活跃(一天以上)") == "不是很长时间都没人活跃(一天以上)"
    assert strip_pinyin("Pai爷运营(pyyunying)") == "Pai爷运营(pyyunying)"


def test_article_002_loses_all_pinyin() -> None:
    text = normalize_text((RAW / "002_d226979a116dad90.txt").read_text(encoding="utf-8"))
    assert "(shù)" not in text and "ù" not in text and "ǎ" not in text
    assert "数据" in text and "运营" in text


def test_article_004_loses_lookalikes() -> None:
    text = normalize_text((RAW / "004_8290fcecfd6f0502.txt").read_text(encoding="utf-8"))
    for bad in "仩鈳嫆徝囲夶昰┅":
        assert bad not in text


def test_traditional_and_simplified_meet() -> None:
    assert normalize_text("社群運營的陷阱有哪些") == normalize_text("社群运营的陷阱有哪些")
