"""The README's lists are checked against the code that they describe."""
import re
from pathlib import Path

from handlers.commands import COMMANDS
from tradingbot.core.params import PARAM_SPECS, StrategyParams
from tradingbot.settings import Settings

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


def shown_default(value: object) -> str | None:
    """A setting's default as the README writes it (None: 'empty')."""
    if value is None or value == []:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_readme_settings_table_names_every_setting_with_its_default():
    documented: dict[str, str | None] = {}
    for row in section("settings").splitlines()[2:]:
        names, defaults = row.split("|")[1:3]
        variables = re.findall(r"`([A-Z_]+)`", names)
        values = [None] if defaults.strip() == "empty" else re.findall(r"`([^`]*)`", defaults)
        values = values * len(variables) if len(values) == 1 else values
        assert len(values) == len(variables), row
        documented.update(zip(variables, values))
    expected = {name.upper(): shown_default(field.default) for name, field in Settings.model_fields.items()}
    assert documented == expected
