"""The import rules of docs/architecture.md, read from every product module's source (no module is imported).

Each product module belongs to one layer; every import it makes, at any depth (inside functions and
TYPE_CHECKING blocks too), must point at a layer it may see and at no library its layer keeps out.
A failure names the module, the line, the import and the rule it breaks.
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Longest prefix wins: a module's dotted name -> its layer.
LAYERS = {
    "tradingbot.core": "core",
    "tradingbot.app": "app",
    "tradingbot.app.ports": "ports",  # a part of app that the adapters may see
    "tradingbot.adapters": "adapters",
    "tradingbot": "composition",  # settings.py, venues.py: read by bot.py only
    "bot": "root",
    "handlers": "entry",
    "charts": "charts",
    "web": "web",
    "web.server": "root",  # the web front end's own composition (read-only store, sign-in links), as bot.py's
    "standins": "standins",
}
# Which layers each layer may import. The composition root sees everything but the stand-ins.
MAY_SEE = {
    "core": {"core"},
    "ports": {"core", "ports"},
    "app": {"core", "ports", "app"},
    "adapters": {"core", "ports", "adapters"},
    "composition": {"core", "ports", "app", "adapters", "composition"},
    "charts": {"core", "ports", "app", "charts"},
    "entry": {"core", "ports", "app", "charts", "entry"},
    "web": {"core", "ports", "app", "web"},
    "root": {"core", "ports", "app", "adapters", "composition", "charts", "entry", "web", "root"},
}
_IO = {"sqlite3", "sqlite_utils", "aiohttp", "telegram", "binance", "matplotlib", "apscheduler", "argparse", "tqdm",
       "pydantic", "pydantic_settings", "dotenv", "signal", "fcntl", "socket", "subprocess"}
# Libraries each layer keeps out (the top-level package name).
BANNED = {
    "core": _IO | {"multiprocessing", "threading", "os", "asyncio"},
    "ports": _IO | {"multiprocessing", "os"},
    "app": _IO,
    "adapters": {"telegram", "matplotlib", "argparse", "tqdm", "apscheduler"},
    "charts": {"sqlite3", "sqlite_utils", "aiohttp", "telegram", "binance", "apscheduler", "argparse", "tqdm"},
    "entry": {"sqlite3", "sqlite_utils", "aiohttp", "binance", "matplotlib"},
    "web": {"sqlite3", "sqlite_utils", "telegram", "binance", "matplotlib", "apscheduler", "tqdm"},
    "composition": {"telegram", "matplotlib"},
    "root": set(),
}
# May not read os.environ / os.getenv: settings arrive as values. Only bot.py reads the environment (its
# test-only switches); the settings file and variables are read by settings.py through pydantic-settings.
ENVIRONMENT_READERS = {"core", "ports", "app", "adapters", "composition", "charts", "entry", "web"}


def product_files() -> list[Path]:
    """bot.py and every module of the packages pyproject.toml ships, the stand-ins apart."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    modules = [ROOT / f"{name}.py" for name in config["tool"]["setuptools"]["py-modules"]]
    for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        if package != "standins":
            modules += sorted((ROOT / package).rglob("*.py"))
    return modules


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS[prefix]
    return None


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved, `from pkg import mod` as pkg.mod."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((node.lineno, child if is_module(child) else base))
    return found


def environment_reads(tree: ast.Module) -> list[int]:
    """Lines that read the process environment (os.environ, os.getenv, `from os import environ`)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os" \
                and node.attr in ("environ", "getenv", "putenv"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and {a.name for a in node.names} & {"environ", "getenv"}:
            lines.append(node.lineno)
    return lines


def broken_rules(path: Path, source: str | None = None) -> list[str]:
    """One line per import of this module (its file's text, or `source` as if it stood there) that breaks its
    layer's rules."""
    where = path.relative_to(ROOT)
    tree = ast.parse(path.read_text() if source is None else source, str(where))
    layer = layer_of(module_name(path))
    if layer is None or layer == "standins":
        return [f"{where}: belongs to no product layer (give it one in tests/test_layers.py LAYERS)"]
    broken = []
    for line, target in imports(path, tree):
        target_layer = layer_of(target)
        if target_layer is not None and target_layer not in MAY_SEE[layer]:
            broken.append(f"{where}:{line}: {layer} may not import {target} ({target_layer})")
        elif target_layer is None and target.split(".")[0] in BANNED[layer]:
            broken.append(f"{where}:{line}: {layer} may not import the library {target}")
    if layer in ENVIRONMENT_READERS:
        broken += [f"{where}:{line}: {layer} may not read the environment (os.environ)"
                   for line in environment_reads(tree)]
    return broken


def test_every_product_module_keeps_its_layers_import_rules():
    broken = [line for path in product_files() for line in broken_rules(path)]
    assert not broken, "import rules broken (see docs/architecture.md):\n" + "\n".join(broken)


def test_every_layer_has_modules_and_no_product_module_is_a_stand_in():
    seen = {layer_of(module_name(p)) for p in product_files()}
    assert seen == set(MAY_SEE)
    assert "standins" not in seen


@pytest.mark.parametrize("layer_module, source, rule", [
    ("tradingbot/core/x.py", "def f():\n    import sqlite3\n", "core may not import the library sqlite3"),
    ("tradingbot/core/x.py", "from ..adapters import paper\n", "core may not import tradingbot.adapters.paper"),
    ("tradingbot/app/x.py", "from ..adapters.outbox import SqliteOutbox\n", "app may not import tradingbot.adapters"),
    ("tradingbot/app/x.py", "import os\nTOKEN = os.environ['T']\n", "app may not read the environment"),
    ("tradingbot/adapters/x.py", "from ..app.services import Services\n", "adapters may not import tradingbot.app"),
    ("handlers/x.py", "import sqlite_utils\n", "entry may not import the library sqlite_utils"),
    ("handlers/x.py", "from tradingbot.adapters.outbox import SqliteOutbox\n", "entry may not import tradingbot.adapters"),
    ("charts/x.py", "from handlers import texts\n", "charts may not import handlers.texts"),
    ("handlers/x.py", "from standins.telegram_api import FakeTelegram\n", "entry may not import standins"),
    ("handlers/x.py", "import os\nCACHE = os.environ.get('KLINE_DB_PATH')\n", "entry may not read the environment"),
    ("tradingbot/x.py", "from os import environ\n", "composition may not read the environment"),
])
def test_a_forbidden_import_is_named_with_the_rule_it_breaks(layer_module, source, rule):
    broken = broken_rules(ROOT / layer_module, source)
    assert len(broken) == 1 and rule in broken[0] and layer_module in broken[0], broken
