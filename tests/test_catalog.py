"""The catalog of the served index: lookups, filters, lists and their members, type flags."""

from __future__ import annotations

import pytest

from service.catalog import Catalog
from service.errors import NotFoundError, UnknownDocumentError, UnknownTypeError
from service.kb import KnowledgeBase


@pytest.fixture(scope="module")
def catalog(kb: KnowledgeBase) -> Catalog:
    return kb.index.catalog


def test_members_are_in_the_articles_order(catalog: Catalog) -> None:
    steps = catalog.members["g001a-positioning-steps"]
    assert [p.order for p in steps] == [1, 2, 3]
    assert all(p.group == "g001a-positioning-steps" for p in steps)


def test_a_principle_knows_the_lists_it_introduces_then_the_one_it_belongs_to(catalog: Catalog) -> None:
    for p in catalog.principles:
        groups = catalog.groups_of[p.id]
        introduced = [g for g in groups if p.id in g.overviews]
        assert groups[: len(introduced)] == introduced, p.id
        if p.group:
            assert p.group in {g.id for g in groups}, p.id


def test_type_flags(catalog: Catalog) -> None:
    assert catalog.types_where("diagnosed") == {"pitfall"}
    assert catalog.types_where("advice_in_answer") == {"pitfall"}
    assert {t.name for t in catalog.type_infos()} == catalog.type_names
    assert "diagnosed" not in catalog.type_infos()[0].model_dump()  # flags stay inside


def test_filters(catalog: Catalog) -> None:
    assert catalog.check_names(None, "types") is None
    assert catalog.check_names(["pitfall"], "types") == {"pitfall"}
    with pytest.raises(UnknownTypeError, match="types: unknown type"):
        catalog.check_names(["nope"], "types")
    # a document is its own error, and may be named by short id or file name
    with pytest.raises(UnknownDocumentError, match="docs: unknown document"):
        catalog.check_names(["nope.txt"], "docs")
    name = catalog.doc_ids["002"]
    assert catalog.check_names(["002", name], "docs") == {name}
    assert len(catalog.filter(group="g001a-positioning-steps")) == 3
    keep = catalog.mask(types={"pitfall"})
    assert int(keep.sum()) == len(catalog.filter(types={"pitfall"})) > 0
    with pytest.raises(NotFoundError):
        catalog.get("nope")
