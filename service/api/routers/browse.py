"""Browsing the catalog: principles by id or filter (paged), the type vocabulary. Cacheable: ETag,
If-None-Match, Cache-Control, unknown query parameters refused (service/api/caching.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from service.api.caching import cached_router
from service.api.deps import KBDep
from service.models import GroupList, Principle, PrincipleList, PrincipleQuery, TypeList

__all__ = ["router"]

router = cached_router(tags=["browse"])


@router.get("/principles", response_model=PrincipleList)
def principles(kb: KBDep, req: Annotated[PrincipleQuery, Query()]) -> PrincipleList:
    """Principles, filtered by `type`, `doc` (short id or file name) and `group`, a page at a time:
    `limit` (default 50) from `offset`; `total` counts every match, `next_offset` is the next page's."""
    return kb.list_principles(req)


@router.get("/principles/{principle_id}", response_model=Principle)
def principle(principle_id: str, kb: KBDep) -> Principle:
    return kb.get(principle_id)


@router.get("/types", response_model=TypeList)
def types(kb: KBDep) -> TypeList:
    return kb.types()


@router.get("/groups", response_model=GroupList)
def groups(kb: KBDep) -> GroupList:
    """The lists the articles make (the steps of a method, a set of pitfalls...), with their titles and
    sizes; a list's members in order: GET /principles?group={id}."""
    return kb.groups()
