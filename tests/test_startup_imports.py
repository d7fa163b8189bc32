"""Import only what a path needs (issue 17): a text command loads no plotting, Telegram or Binance library.

Read from `python -X importtime`, which names every module the process imported; no timing is asserted.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.builders import NO_ENV_FILE

ROOT = Path(__file__).resolve().parent.parent
# Libraries a text reply on the synthetic market has no use for, with what loads them when they are needed.
NOT_ON_A_TEXT_PATH = {"matplotlib": "a chart", "telegram": "the Telegram front end", "binance": "the Binance venue",
                      "aiohttp": "Binance or CoinGecko", "apscheduler": "a serving bot's scheduler"}


def imported_packages(*argv: str, cwd: Path = ROOT) -> tuple[set[str], str]:
    env = {**os.environ, "LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": ""}
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return {name.split(".")[0] for name in names}, done.stdout


def test_a_text_command_imports_no_plotting_telegram_or_binance_library(tmp_path):
    packages, out = imported_packages("bot.py", "--env-file", NO_ENV_FILE, "--demo", "--db",
                                      str(tmp_path / "demo.sqlite"), "chat", "/status")
    assert "Venue: paper" in out  # the command really answered
    assert "tradingbot" in packages and "handlers" in packages  # the parse saw the product's imports
    loaded = {name: why for name, why in NOT_ON_A_TEXT_PATH.items() if name in packages}
    assert not loaded, f"a text command imported {loaded}"


def test_the_chart_functions_are_loaded_on_first_use(tmp_path):
    probe = ("import sys, charts; assert 'matplotlib' not in sys.modules; "
             "draw = charts.equity_chart; assert 'matplotlib' in sys.modules; "
             "from charts.equity import equity_chart; assert draw is equity_chart; print('ok')")
    packages, out = imported_packages("-c", probe)
    assert out.strip() == "ok" and "matplotlib" in packages
