"""What is indexed per principle: sentences and fields."""

from __future__ import annotations

from service.corpus import Corpus
from service.texts import principle_fields, split_sentences


def test_split_sentences_cuts_long_sentences_at_commas() -> None:
    text = "短句。" + "这是一个很长的句子," * 12 + "结尾。"
    parts = split_sentences(text)
    assert all(len(p) <= 90 for p in parts)
    assert "".join(parts).replace("短句。", "") == text.replace("短句。", "")


def test_fields_are_normalised_and_unique(corpus: Corpus) -> None:
    for p in corpus.principles[:40]:
        fields = principle_fields(p)
        texts = [t for _, t in fields]
        assert len(texts) == len(set(texts)), p.id
        assert fields[0][0] == "title" and {f for f, _ in fields} >= {"title", "summary", "passage"}, p.id
