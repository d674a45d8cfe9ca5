"""Domain adaptation of the sentence encoder, trained by `kb build` on the curated corpus itself.

m3e-small was trained on general Chinese pairs; it has never seen how an operator describes a pitfall
("群里全靠一个KOL撑着") next to how an article names it (过度依赖大咖). The corpus holds that signal
already: every principle's curated questions, symptoms and keywords say how people ask for it. Training
pulls each of those (and rule-made noisy variants of it: traditional characters, homophone typos, jargon
swapped in from corpus/aliases.yaml) towards the principle's title and summary, away from the other
principles in the batch and from a hard negative of the same type.

The loss is InfoNCE with in-batch negatives (what sentence-transformers calls
MultipleNegativesRankingLoss), written out here because two anchors of one principle in a batch, or a
hard negative that is another anchor's positive, would otherwise be counted as negatives: candidates that
belong to the anchor's own principle are masked out.

Seeded and deterministic on CPU (one thread pool, fixed order); the result is cached under the index
folder by a hash of the base model, the training examples and the settings, so an unchanged corpus does
not retrain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from service.aliases import AliasTable
from service.models import Principle
from service.normalize import normalize_text
from service.retrieval.base import DocumentVectors

if TYPE_CHECKING:
    import torch

log = logging.getLogger("kb.adapt")

# bump when the training code changes in a way that changes the model
ADAPT_VERSION = 2


# the fields of a principle that training reads, or that make the document vectors it is scored
# against: advice provenance and other display fields do not retrain
TRAINED_ON = {
    "id",
    "type",
    "title",
    "summary",
    "advice",
    "questions",
    "symptoms",
    "keywords",
    "phrasings",
    "group",
    "source",
}


@dataclass(frozen=True)
class AdaptConfig:
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 2e-5
    temperature: float = 0.05
    variants: int = 1  # noisy copies per anchor and epoch
    max_tokens: int = 64
    seed: int = 13
    # bounds that keep training linear in the corpus (issue 26); neither binds at today's 168
    # principles (244 steps, 168 classes), so today's model is trained exactly as before
    max_steps: int = 500  # optimiser steps in all; past it each epoch trains on a random share of the pairs
    max_classes: int = 2048  # principles in one step's softmax; past it, the batch's own and a random sample


@dataclass(frozen=True)
class Example:
    anchor: str  # how an operator says it (normalised)
    principle: int  # index into the principles
    field: str  # question | symptom | keyword | title


Progress = Callable[[str], None]


def positive_text(p: Principle) -> str:
    """What an anchor is pulled towards: the principle as the curator states it."""
    return normalize_text(f"{p.title}：{p.summary}")


def training_examples(
    principles: Sequence[Principle], holdout: frozenset[str] = frozenset()
) -> list[Example]:
    """Every curated way of asking for a principle, minus `holdout` (question texts kept for validation).
    Phrasings (corpus/phrasings/) are not anchors: trained on (870 of them, long ones up to 200
    characters), they tripled the training time and gained nothing measurable on our held-out queries;
    indexed, they are among what the anchors are scored against."""
    out: list[Example] = []
    for i, p in enumerate(principles):
        anchors = [("question", q) for q in p.questions if q not in holdout]
        anchors += [("symptom", s) for s in p.symptoms]
        anchors += [("keyword", k) for k in p.keywords if len(k) >= 2]
        anchors.append(("title", p.title))
        seen: set[str] = set()
        for field, text in anchors:
            norm = normalize_text(text)
            if norm not in seen:
                seen.add(norm)
                out.append(Example(norm, i, field))
    return out


class Noise:
    """Rule-made variants of a query: what users' typing and the articles' text do to the words."""

    def __init__(self, aliases: AliasTable, homophones: dict[str, list[str]]) -> None:
        # canonical word -> the jargon operators use for it (the alias table read backwards)
        self._jargon: dict[str, list[str]] = {}
        for e in aliases.entries:
            for word in e.canonical.split():
                self._jargon.setdefault(word, []).extend(e.aliases)
        self._homophones = homophones

    def variant(self, text: str, rng: random.Random) -> str:
        """One noisy copy, normalised as a query would be: traditional characters come back simplified
        but not always as they were, typos and jargon stay."""
        out = text
        words = [w for w in self._jargon if w in out]
        if words and rng.random() < 0.6:
            word = rng.choice(words)
            out = out.replace(word, rng.choice(self._jargon[word]).lower(), 1)
        chars = list(out)
        for j, ch in enumerate(chars):
            if ch in self._homophones and rng.random() < 0.08:
                chars[j] = rng.choice(self._homophones[ch])
        out = "".join(chars)
        if rng.random() < 0.3:
            from service.normalize import to_traditional

            out = to_traditional(out)
        if len(out) > 8 and rng.random() < 0.2:  # a dropped character
            j = rng.randrange(len(out))
            out = out[:j] + out[j + 1 :]
        return normalize_text(out)


def homophone_table(texts: Sequence[str]) -> dict[str, list[str]]:
    """Characters of the corpus grouped by toneless pinyin: a typed 在 for 再 is a same-sound pick."""
    from pypinyin import Style, lazy_pinyin

    chars = sorted({c for t in texts for c in t if "\u4e00" <= c <= "\u9fff"})
    by_sound: dict[str, list[str]] = {}
    for c in chars:
        by_sound.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    return {c: [o for o in group if o != c] for group in by_sound.values() for c in group if len(group) > 1}


def adaptation_key(
    base: str,
    principles: Sequence[Principle],
    aliases: AliasTable,
    config: AdaptConfig,
) -> str:
    """Hash of everything the trained model depends on. The step and class bounds count only where
    they bind: below them the model is the unbounded one, and its cached copy stays valid."""
    h = hashlib.sha256()
    settings = asdict(config)
    if natural_steps(principles, config) <= config.max_steps:
        del settings["max_steps"]
    if len(principles) <= config.max_classes:
        del settings["max_classes"]
    payload = {
        "version": ADAPT_VERSION,
        "base": base,
        "config": settings,
        "principles": [p.model_dump(mode="json", include=TRAINED_ON) for p in principles],
        "aliases": [e.model_dump(mode="json") for e in aliases.entries],
    }
    h.update(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()[:16]


def natural_steps(principles: Sequence[Principle], config: AdaptConfig) -> int:
    """Optimiser steps of an unbounded training on these principles."""
    per_epoch = len(training_examples(principles)) * (1 + config.variants)
    return config.epochs * ((per_epoch + config.batch_size - 1) // config.batch_size)


def _batches(
    pairs: list[tuple[Example, str]], size: int, rng: random.Random
) -> list[list[tuple[Example, str]]]:
    """Shuffled batches of (example, the text to encode: the anchor itself or a noisy variant)."""
    pool = pairs[:]
    rng.shuffle(pool)
    return [pool[i : i + size] for i in range(0, len(pool), size)]


def train(
    base_path: str,
    principles: Sequence[Principle],
    aliases: AliasTable,
    documents: DocumentVectors,
    out_dir: Path,
    config: AdaptConfig = AdaptConfig(),
    holdout: frozenset[str] = frozenset(),
    progress: Progress | None = None,
) -> Path:
    """Fine-tune the query side of the model at `base_path` and save it to `out_dir`.

    The documents stay as the base model encoded them (`documents`: the index's vectors and which
    principle owns each), so training can score every anchor against every principle exactly as
    retrieval does, max cosine over a principle's vectors, with every principle as the softmax's
    classes rather than a batch's worth. Only short queries pass through the network: a step costs
    a fraction of a two-sided one, which keeps `kb build` within minutes on two cores. The vector of
    the anchor's own text (a curated question is in the index) is masked, or the task is trivial.

    Two bounds keep a large corpus from growing the cost quadratically (steps grow with the anchors,
    each step with the vectors): at most `max_steps` steps (each epoch then draws a random share of
    its pairs), and a softmax over at most `max_classes` principles (the batch's own, then a random
    sample: sampled negatives). Below both, training is exactly the unbounded one.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    say = progress or (lambda msg: log.info("%s", msg))
    rng = random.Random(config.seed)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    model = SentenceTransformer(base_path, device="cpu")
    served_length = model.max_seq_length
    model.max_seq_length = config.max_tokens  # training anchors are short; served queries may not be
    # the word-embedding matrix is half the model: updating it costs time and lets rare characters drift
    for name, param in model.named_parameters():
        if "word_embeddings" in name:
            param.requires_grad = False
    examples = training_examples(principles, holdout)
    noise = Noise(
        aliases, homophone_table([e.anchor for e in examples] + [positive_text(p) for p in principles])
    )
    docs = torch.from_numpy(documents.vectors)
    owners = torch.from_numpy(documents.owners.astype(np.int64))
    n_principles = len(principles)
    text_rows: dict[str, list[int]] = {}
    for row, text in enumerate(documents.texts):
        text_rows.setdefault(text, []).append(row)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
    per_epoch = len(examples) * (1 + config.variants)
    natural = config.epochs * ((per_epoch + config.batch_size - 1) // config.batch_size)
    capped = natural > config.max_steps
    epoch_steps = -(-config.max_steps // config.epochs) if capped else None
    total = config.epochs * epoch_steps if epoch_steps is not None else natural
    classes = _ClassSampler(documents.owners, n_principles, config.max_classes, config.seed)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, total // 10)) * max(0.0, 1 - step / total)
    )
    if capped or classes.sampling:
        say(
            f"adapting the query encoder on {len(examples)} examples: {total} of {natural} steps, "
            f"softmax over {min(n_principles, config.max_classes)} of {n_principles} principles"
        )
    model.train()
    started, step = time.time(), 0
    for epoch in range(config.epochs):
        if epoch_steps is None:
            epoch_examples = [(e, e.anchor) for e in examples] + [
                (e, noise.variant(e.anchor, rng)) for _ in range(config.variants) for e in examples
            ]
            batches = _batches(epoch_examples, config.batch_size, rng)
        else:
            batches = _sampled_batches(examples, config, epoch_steps, noise, rng)
        for batch in batches:
            anchors = _embed(model, [text for _, text in batch])
            targets = [e.principle for e, _ in batch]
            rows, local, columns = classes.rows(targets)
            sims = anchors @ (docs if rows is None else docs[rows]).T
            mask = torch.zeros_like(sims, dtype=torch.bool)
            for i, (e, _) in enumerate(batch):
                mask[i, classes.local_rows(text_rows.get(e.anchor, []))] = True
            sims = sims.masked_fill(mask, -1.0)
            step_owners = owners if local is None else torch.from_numpy(local)
            # per principle, its best vector: retrieval's own score
            scores = torch.full((len(batch), columns), -1.0).scatter_reduce(
                1, step_owners.expand(len(batch), -1), sims, reduce="amax", include_self=True
            )
            target = torch.tensor(classes.targets(targets))
            loss = torch.nn.functional.cross_entropy(scores / config.temperature, target)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 25 == 0 or step == total:
                say(
                    f"adapting the query encoder: epoch {epoch + 1}/{config.epochs}, "
                    f"step {step}/{total}, loss {loss.item():.3f}"
                )
    model.eval()
    model.max_seq_length = served_length
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".tmp-{uuid.uuid4().hex}"
    try:
        model.save(str(tmp))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.replace(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"query encoder adapted in {time.time() - started:.0f}s on {len(examples)} curated examples")
    return out_dir


def _sampled_batches(
    examples: list[Example], config: AdaptConfig, steps: int, noise: Noise, rng: random.Random
) -> list[list[tuple[Example, str]]]:
    """`steps` batches of an epoch whose pairs outnumber the step cap: a random share of the pairs
    (each anchor and its noisy variants), noise drawn only for the pairs drawn."""
    pool = [(e, v) for v in range(1 + config.variants) for e in examples]
    rng.shuffle(pool)
    chosen = pool[: steps * config.batch_size]
    pairs = [(e, e.anchor if v == 0 else noise.variant(e.anchor, rng)) for e, v in chosen]
    return [pairs[i : i + config.batch_size] for i in range(0, len(pairs), config.batch_size)]


class _ClassSampler:
    """Which principles one step's softmax runs over: all of them up to `limit`, else the batch's own
    and a random sample of the others (sampled negatives), with their vectors' rows."""

    def __init__(self, owners: np.ndarray, n: int, limit: int, seed: int) -> None:
        self.sampling = n > limit
        self._n, self._limit = n, limit
        self._rng = np.random.default_rng(seed)  # its own stream: the unsampled path draws nothing
        owners = owners.astype(np.int64)
        self._starts = np.searchsorted(owners, np.arange(n + 1))  # vectors are grouped by principle
        self._where: np.ndarray | None = None  # global row -> row of this step's slice (or -1)
        self._column: np.ndarray | None = None  # principle -> column of this step's softmax (or -1)

    def rows(self, targets: list[int]) -> tuple[np.ndarray | None, np.ndarray | None, int]:
        """(the rows of the vectors to score, their owners as columns, the number of columns); rows
        None: every vector, columns are principles."""
        if not self.sampling:
            return None, None, self._n
        own = np.unique(np.asarray(targets, dtype=np.int64))
        others = np.setdiff1d(np.arange(self._n), own, assume_unique=True)
        drawn = self._rng.choice(others, size=max(0, self._limit - own.size), replace=False)
        chosen = np.sort(np.concatenate([own, drawn]))
        spans = [np.arange(self._starts[c], self._starts[c + 1]) for c in chosen]
        rows = np.concatenate(spans)
        local = np.repeat(np.arange(chosen.size), [s.size for s in spans])
        self._column = np.full(self._n, -1, dtype=np.int64)
        self._column[chosen] = np.arange(chosen.size)
        self._where = np.full(int(self._starts[-1]), -1, dtype=np.int64)
        self._where[rows] = np.arange(rows.size)
        return rows, local, int(chosen.size)

    def local_rows(self, rows: list[int]) -> list[int]:
        if self._where is None:
            return rows
        return [int(r) for r in self._where[rows] if r >= 0] if rows else []

    def targets(self, targets: list[int]) -> list[int]:
        if self._column is None:
            return targets
        return [int(c) for c in self._column[targets]]


def _embed(model: object, texts: list[str]) -> torch.Tensor:
    import torch

    features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)  # type: ignore[attr-defined]
    out = model(features)["sentence_embedding"]  # type: ignore[operator]
    return torch.nn.functional.normalize(out, dim=-1)
