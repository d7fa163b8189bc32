"""The stand-ins read as the product does: no module passes ~400 lines, and no module imports one that imports
it back (at any depth, TYPE_CHECKING blocks included), so each can be read from the bottom up."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.test_layers import imports, module_name

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def stand_in_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / "standins").glob("*.py"))}


def test_no_stand_in_module_passes_400_lines():
    lengths = {name: len(path.read_text().splitlines()) for name, path in stand_in_modules().items()}
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def test_no_stand_in_module_imports_one_that_imports_it_back():
    modules = stand_in_modules()
    seen = {name: {t for _, t in imports(path, ast.parse(path.read_text())) if t in modules and t != name}
            for name, path in modules.items()}

    def reachable(start: str) -> set[str]:
        found, todo = set(), list(seen[start])
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo += seen[name]
        return found
    assert sorted(name for name in modules if name in reachable(name)) == []
