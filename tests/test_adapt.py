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


def test_bounds_that_do_not_bind_leave_the_key_and_the_training_alone(settings: Settings) -> None:
    from service.build.adapt import natural_steps

    principles = load_corpus(settings.corpus_dir).principles
    aliases = load_aliases(settings.corpus_dir)
    today = AdaptConfig()
    assert natural_steps(principles, today) <= today.max_steps and len(principles) <= today.max_classes
    key = adaptation_key("m3e-small", principles, aliases, today)
    # the cached model of an unbounded training stays valid: nothing it depends on changed
    assert key == adaptation_key(
        "m3e-small", principles, aliases, AdaptConfig(max_steps=10**6, max_classes=10**6)
    )
    assert key != adaptation_key("m3e-small", principles, aliases, AdaptConfig(max_steps=100))
    assert key != adaptation_key("m3e-small", principles, aliases, AdaptConfig(max_classes=50))


def test_a_capped_epoch_trains_on_a_random_share_of_its_pairs(settings: Settings) -> None:
    from service.build.adapt import _sampled_batches

    principles = load_corpus(settings.corpus_dir).principles
    aliases = load_aliases(settings.corpus_dir)
    examples = training_examples(principles)
    noise = Noise(aliases, homophone_table([e.anchor for e in examples]))
    config = AdaptConfig(batch_size=8)
    batches = _sampled_batches(examples, config, 5, noise, random.Random(3))
    assert [len(b) for b in batches] == [8] * 5
    pairs = [pair for b in batches for pair in b]
    assert len({id(e) for e, _ in pairs}) > 30  # drawn across the corpus, not its first principles
    assert all(e in examples for e, _ in pairs)


def test_sampled_negatives_keep_the_batch_and_its_vectors() -> None:
    import numpy as np

    from service.build.adapt import _ClassSampler

    owners = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4])  # grouped by principle, as the index stores them
    everyone = _ClassSampler(owners, 5, 8, seed=1)
    assert not everyone.sampling and everyone.rows([2]) == (None, None, 5)
    sampler = _ClassSampler(owners, 5, 3, seed=1)
    rows, local, columns = sampler.rows([2, 2, 4])
    assert rows is not None and local is not None and columns == 3
    chosen = sorted(set(owners[rows].tolist()))
    assert {2, 4} <= set(chosen) and len(chosen) == 3
    assert rows.tolist() == [r for r in range(9) if owners[r] in chosen]  # every vector of each
    assert local.tolist() == [chosen.index(int(owners[r])) for r in rows]
    assert sampler.targets([2, 4]) == [chosen.index(2), chosen.index(4)]
    assert sampler.local_rows([3, 4, 7]) == [rows.tolist().index(r) for r in (3, 4, 7)]
