"""Operators' jargon and synonyms and the articles' words for them (the table is corpus/aliases.yaml).

Two uses. At `kb build` the table makes the adapted query encoder's training variants: a curated
question's 大咖 becomes KOL, 私域 private domain (service/build/adapt.py), so the encoder learns that the
jargon means the articles' words. At query time the table only *recognises* jargon: each match is
recorded in `Query.rewrites` (for explanations and the confidence model's `alias_hits`), and the text
that is tokenised and encoded stays the user's own. Rewriting the text was measured and dropped: on the
tuning part of eval/ and on the dev set, replacing or expanding aliases (for the encoder and BM25, or for
BM25 alone, with or without the generic entries) never beat leaving the text alone (tune nDCG@10 0.748 to
0.760 against 0.761, dev 0.846 to 0.848 against 0.864), the adapted encoder having learnt the jargon.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.errors import CorpusError
from service.query import Rewrite

ALIASES_FILE = "aliases.yaml"


class AliasEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    canonical: str = Field(min_length=1, description="the articles' words, space-separated")
    aliases: list[str] = Field(min_length=1)


class AliasTable:
    """A `QueryRewriter` (service/query.py): each alias it rewrites is recorded as a `Rewrite`."""

    name = "alias"

    def __init__(self, entries: list[AliasEntry]) -> None:
        self.entries = entries
        self._canonical: dict[str, str] = {}
        for e in entries:
            for a in e.aliases:
                key = a.lower()
                if key in self._canonical and self._canonical[key] != e.canonical:
                    raise CorpusError(f"{ALIASES_FILE}: alias {a!r} maps to two canonical forms")
                self._canonical[key] = e.canonical
        # longest first, so "private domain" wins over "domain" and 转化漏斗 over 漏斗
        parts = []
        for alias in sorted(self._canonical, key=len, reverse=True):
            if alias.isascii():
                parts.append(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])")
            else:
                parts.append(re.escape(alias))
        self._pattern = re.compile("|".join(parts)) if parts else None

    @property
    def canonical_words(self) -> set[str]:
        return {w for e in self.entries for w in e.canonical.split()}

    def rewrite(self, normalized: str) -> tuple[str, list[Rewrite]]:
        """The text unchanged, and each alias it contains with the articles' words for it;
        `normalized` is already lower-cased by normalize_text."""
        if self._pattern is None:
            return normalized, []
        done = [
            Rewrite(self.name, m.group(0), self._canonical[m.group(0)])
            for m in self._pattern.finditer(normalized)
        ]
        return normalized, done


def load_aliases(corpus_dir: Path) -> AliasTable:
    """The alias table of a corpus folder; an absent file means no aliases."""
    path = corpus_dir / ALIASES_FILE
    if not path.exists():
        return AliasTable([])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        entries = [AliasEntry.model_validate(e) for e in raw]
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc
    return AliasTable(entries)
