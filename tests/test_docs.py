"""The docs stay true to the code: the configuration table is generated from Settings and fails here
when stale; every package under service/ is named in the architecture page; the README is a doorway
whose links all lead somewhere."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = ("api.md", "assistants.md", "operations.md", "curating.md", "architecture.md", "results.md")


def test_the_configuration_table_matches_settings() -> None:
    generator = runpy.run_path(str(ROOT / "scripts" / "settings_doc.py"))
    page = (DOCS / "operations.md").read_text(encoding="utf-8")
    assert generator["updated"](page) == page, (
        "docs/operations.md is stale: run python scripts/settings_doc.py"
    )


def test_the_configuration_table_lists_every_setting() -> None:
    from service.settings import Settings

    page = (DOCS / "operations.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`KB_{name.upper()}`" in page


def _packages() -> list[str]:
    service = ROOT / "service"
    return sorted(
        p.parent.relative_to(ROOT).as_posix() + "/"
        for p in service.rglob("__init__.py")
        if p.parent != service
    )


@pytest.mark.parametrize("package", _packages())
def test_every_package_is_named_in_the_architecture_page(package: str) -> None:
    assert package in (DOCS / "architecture.md").read_text(encoding="utf-8")


def test_the_readme_is_a_doorway() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert "make serve" in readme and "make test" in readme
    for page in PAGES:
        assert f"docs/{page}" in readme
        assert len((DOCS / page).read_text(encoding="utf-8").splitlines()) > 20, page


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_relative_links_lead_to_files(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text):
        assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
