"""The catalog: the principles of one index, their types, the lists (groups) they form and their links.

Built once per index and read by every request: lookups by id, type/doc filters, which lists a principle
introduces or belongs to, each list's members in order. Nothing here ranks.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from service.errors import InputError, NotFoundError, UnknownDocumentError, UnknownTypeError
from service.models import GroupInfo, Principle, TypeInfo, TypeSpec

__all__ = ["BoolArray", "Catalog", "Records", "doc_id"]

BoolArray = npt.NDArray[np.bool_]


class Records(BaseModel):
    """records.json of an index: what the catalog is built from."""

    principles: list[Principle]
    types: list[TypeSpec]
    groups: list[GroupInfo]


class Catalog:
    def __init__(self, records: Records) -> None:
        self.principles = records.principles
        self.by_id = {p.id: p for p in self.principles}
        self.position = {p.id: i for i, p in enumerate(self.principles)}
        self.types = records.types
        self.type_names = frozenset(t.name for t in records.types)
        self.doc_names = frozenset(p.source.doc for p in self.principles)
        # a document's short id is its file name's prefix ("000" for 000_8a13e7523ba96b1d.txt)
        self.doc_ids = {doc_id(name): name for name in sorted(self.doc_names)}
        self._types = np.array([p.type for p in self.principles])
        self._docs = np.array([p.source.doc for p in self.principles])
        self._groups = np.array([p.group or "" for p in self.principles])
        groups = {g.id: g for g in records.groups}
        self.groups = sorted(records.groups, key=lambda g: g.id)
        # the lists a principle introduces (as an overview), then the list it belongs to
        self.groups_of: dict[str, list[GroupInfo]] = {p.id: [] for p in self.principles}
        for g in groups.values():
            for o in g.overviews:
                self.groups_of[o].append(g)
        for p in self.principles:
            if p.group in groups and groups[p.group] not in self.groups_of[p.id]:
                self.groups_of[p.id].append(groups[p.group])
        # each list's members in the article's order
        self.members: dict[str, list[Principle]] = {g: [] for g in groups}
        for p in sorted(self.principles, key=lambda p: p.order or 0):
            if p.group in groups:
                self.members[p.group].append(p)

    def __len__(self) -> int:
        return len(self.principles)

    def get(self, principle_id: str) -> Principle:
        p = self.by_id.get(principle_id)
        if p is not None:
            return p
        raise NotFoundError(f"no principle with id {principle_id!r}; search or list principles to find ids")

    def type_infos(self) -> list[TypeInfo]:
        """The vocabulary as served (GET /types): the behaviour flags stay inside."""
        return [TypeInfo.model_validate(t.model_dump(include=set(TypeInfo.model_fields))) for t in self.types]

    def types_where(self, flag: str) -> set[str]:
        """Names of the types whose behaviour flag (corpus/types.yaml) is set."""
        return {t.name for t in self.types if getattr(t, flag)}

    def check_names(self, given: Sequence[str] | None, field: str) -> set[str] | None:
        """A type or doc filter as a set (None when empty); a name the index lacks is a 422 listing them.
        Documents may be named by short id (000) or file name; the set holds file names."""
        if not given:
            return None
        if not field.startswith("type"):
            return self.check_docs(given, field)
        unknown = sorted(set(given) - self.type_names)
        if unknown:
            known = ", ".join(sorted(self.type_names))
            raise UnknownTypeError(f"{field}: unknown type(s) {', '.join(unknown)}; known types: {known}")
        return set(given)

    def check_docs(self, given: Sequence[str], field: str) -> set[str]:
        names = {self.doc_ids.get(d, d) for d in given}
        unknown = sorted(names - self.doc_names)
        if unknown:
            known = ", ".join(f"{i} ({n})" for i, n in self.doc_ids.items())
            raise UnknownDocumentError(f"{field}: unknown document(s) {', '.join(unknown)}; known: {known}")
        return names

    def check_group(self, group: str | None) -> str | None:
        if group is not None and group not in self.members:
            raise InputError(
                f"group: unknown group {group!r}; known groups: {', '.join(sorted(self.members))}"
            )
        return group

    def mask(
        self, types: set[str] | None = None, docs: set[str] | None = None, ids: Collection[str] | None = None
    ) -> BoolArray:
        """Which principles a request may return; `ids` None: every id (an empty collection: none)."""
        keep = np.ones(len(self.principles), dtype=bool)
        if ids is not None:
            chosen = np.zeros(len(self.principles), dtype=bool)
            chosen[[self.position[i] for i in ids if i in self.position]] = True
            keep &= chosen
        if types:
            keep &= np.isin(self._types, list(types))
        if docs:
            keep &= np.isin(self._docs, list(docs))
        return keep

    def filter(
        self, types: set[str] | None = None, docs: set[str] | None = None, group: str | None = None
    ) -> list[Principle]:
        if (types is not None and not types) or (docs is not None and not docs):
            return []
        keep = self.mask(types, docs)
        if group is not None:
            keep &= self._groups == group
        return [self.principles[i] for i in np.flatnonzero(keep)]


def doc_id(name: str) -> str:
    """The short id of a raw file name: its prefix up to the first "_" or "." (000_8a13….txt -> 000)."""
    return name.split("_", 1)[0].split(".", 1)[0]
