"""Training data and caching of the adapted query encoder (the training itself runs in `kb build`)."""

from __future__ import annotations

import random

from service.aliases import load_aliases
from service.build.adapt import AdaptConfig, Noise, adaptation_key, homophone_table, training_examples
from service.corpus import load_corpus
from service.kb import KnowledgeBase
from service.settings import Settings


def test_examples_are_every_curated_way_of_asking(settings: Settings) -> None:
    principles = load_corpus(settings.corpus_dir).principles
    examples = training_examples(principles)
    fields = {e.field for e in examples}
    assert fields == {"question", "symptom", "keyword", "title"}
    asked = principles[0].questions[0]
    held = training_examples(principles, holdout=frozenset({asked}))
    assert len(held) == len(examples) - 1


def test_noise_keeps_meaning_and_changes_wording(settings: Settings) -> None:
    aliases = load_aliases(settings.corpus_dir)
    noise = Noise(aliases, homophone_table(["社群运营的大咖在群里分享"]))
    rng = random.Random(1)
    variants = {noise.variant("社群全靠大咖在群里分享", rng) for _ in range(40)}
    assert len(variants) > 5
    assert any("kol" in v or "意见领袖" in v or "大v" in v for v in variants)  # jargon swapped in


def test_the_key_changes_with_the_corpus_and_the_settings(settings: Settings) -> None:
    principles = load_corpus(settings.corpus_dir).principles
    aliases = load_aliases(settings.corpus_dir)
    key = adaptation_key("m3e-small", principles, aliases, AdaptConfig())
    assert key == adaptation_key("m3e-small", principles, aliases, AdaptConfig())
    assert key != adaptation_key("m3e-small", principles[1:], aliases, AdaptConfig())
    assert key != adaptation_key("m3e-small", principles, aliases, AdaptConfig(epochs=4))


def test_built_index_serves_the_adapted_encoder(kb: KnowledgeBase) -> None:
    folder = kb.index.query_model_dir
    assert folder is not None and (folder / "config.json").exists()
    assert kb.index.manifest.query_model == str(folder.relative_to(kb.index.path.parent.parent))
