"""Browsing the catalog: principles by id or filter, the type vocabulary."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from service.api.access import router as make_router
from service.api.deps import KBDep
from service.models import Principle, PrincipleList, PrincipleQuery, TypeList

__all__ = ["router"]

router = make_router(tags=["browse"])


@router.get("/principles", response_model=PrincipleList)
def principles(kb: KBDep, req: Annotated[PrincipleQuery, Query()]) -> PrincipleList:
    """Principles, filtered by `type` and `doc` (the accepted values are in this schema's enums)."""
    return kb.list_principles(req)


@router.get("/principles/{principle_id}", response_model=Principle)
def principle(principle_id: str, kb: KBDep) -> Principle:
    return kb.get(principle_id)


@router.get("/types", response_model=TypeList)
def types(kb: KBDep) -> TypeList:
    return kb.types()
