"""The README's lists are checked against the code that they describe."""
import re
from pathlib import Path

from handlers.commands import COMMANDS
from tradingbot.params import PARAM_SPECS, StrategyParams

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def section(name: str) -> str:
    return README.split(f"<!-- {name} -->")[1].split(f"<!-- /{name} -->")[0].strip()


def test_readme_command_list_is_the_command_table():
    expected = [f"- `/{c.name}{' ' + c.args if c.args else ''}` — {c.help}" for c in COMMANDS]
    assert section("commands").splitlines() == expected


def test_readme_parameter_table_is_the_parameter_specs():
    defaults = StrategyParams().to_strings()
    rows = section("params").splitlines()[2:]
    expected = [f"| `{s.key}` | `{defaults[s.key]}` | {s.help} | {s.allowed} |" for s in PARAM_SPECS]
    assert rows == expected


def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"^make (\w+)\s+# 2\.", README, re.M)
    assert commands == ["test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
