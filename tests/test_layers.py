"""The layers of DESIGN.md: each package imports only the layers above it (issue 8).

Every import in every module is read from the source (module level and inside functions),
so a lazy import that crosses a layer is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tropism"

#: layer → what it may not import (the layers below it)
FORBIDDEN = {
    "model": ("library", "body", "tissue", "simulation", "run", "io", "cli", "bench", "parity"),
    "library": ("body", "tissue", "simulation", "run", "io", "cli", "bench", "parity"),
    "body": ("tissue", "simulation", "run", "io", "cli", "bench", "parity"),
    "tissue": ("body", "simulation", "run", "io", "cli", "bench", "parity"),
    "simulation": ("run", "io", "cli", "bench", "parity"),
    "capabilities": ("model", "body", "tissue", "simulation", "run", "io", "cli"),
}
#: layer 1: conventions and shared helpers, importing no other layer
for _first in ("errors", "units", "files", "geometry"):
    FORBIDDEN[_first] = ("model", "library", "body", "tissue", "simulation", "run", "resolve", "io", "cli",
                         "bench", "parity", "capabilities")


def _imports(path: Path, package: tuple[str, ...]) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ((node.module,) if node.module else ()))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("tropism."):
            found.append((node.lineno, node.value.split(":")[0]))  # importlib targets named as strings
    return found


def _modules(layer: str) -> list[Path]:
    p = SRC / layer
    return sorted(p.rglob("*.py")) if p.is_dir() else [SRC / f"{layer}.py"]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_below_it(layer):
    bad = []
    for path in _modules(layer):
        rel = path.relative_to(SRC.parent).with_suffix("")
        package = tuple(rel.parts[:-1]) if path.name != "__init__.py" else tuple(rel.parts[:-1])
        for line, name in _imports(path, package):
            parts = name.split(".")
            if parts[0] != "tropism" or len(parts) < 2:
                continue
            if parts[1] in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    assert not bad, "\n".join(bad)
