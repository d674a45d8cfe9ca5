"""Operators' jargon and synonyms rewritten into the articles' words (the table is corpus/aliases.yaml).

Applied to normalised queries before BM25 and before encoding, so "KOL" finds what the articles call 大咖.
An ASCII alias (KOL, private domain) is replaced: neither the tokenizer's dictionary nor the encoder knows
it, and left in place it only adds noise. A Chinese alias (冷场, 老带新) stays, with the articles' words
added after it: the user's own word still counts where the articles happen to use it.
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
        """The query with every alias rewritten; `normalized` is already lower-cased by normalize_text."""
        if self._pattern is None:
            return normalized, []
        done: list[Rewrite] = []

        def sub(m: re.Match[str]) -> str:
            alias = m.group(0)
            canonical = self._canonical[alias]
            done.append(Rewrite(self.name, alias, canonical))
            words = "、".join(canonical.split())
            return f" {words} " if alias.isascii() else f"{alias}({words})"

        text = self._pattern.sub(sub, normalized)
        return re.sub(r"\s{2,}", " ", text).strip(), done


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
