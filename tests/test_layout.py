"""The floor plan holds: the `[build]` extra (torch, sentence-transformers, onnx, the training noise) is
imported only under service/build/ and by the torch embedder, so serving never depends on training."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[1] / "service"
BUILD_ONLY = {"torch", "sentence_transformers", "onnx", "onnxscript", "pypinyin", "transformers"}
# the embedder behind KB_ENCODER=torch (and the build's document side) loads torch lazily, by design
ALLOWED = {SERVICE / "embedder.py"}


def _imported(path: Path) -> set[str]:
    """Top-level package names imported anywhere in the module, function bodies included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _serving_modules() -> list[Path]:
    return [
        p for p in sorted(SERVICE.rglob("*.py")) if SERVICE / "build" not in p.parents and p not in ALLOWED
    ]


@pytest.mark.parametrize("path", _serving_modules(), ids=lambda p: str(p.relative_to(SERVICE)))
def test_serving_modules_do_not_import_the_build_extra(path: Path) -> None:
    assert _imported(path) & BUILD_ONLY == set()


def test_the_check_sees_the_build_package() -> None:
    # the scan is not vacuous: the build package does import what serving must not
    assert {"torch"} <= set().union(*(_imported(p) for p in (SERVICE / "build").rglob("*.py")))


def test_loading_the_server_and_the_cli_imports_no_torch() -> None:
    heavy = sorted(BUILD_ONLY)
    code = (
        "import sys; import service.api, service.cli, service.kb, service.mcp_server, service.tools; "
        "service.api.create_app(); "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
