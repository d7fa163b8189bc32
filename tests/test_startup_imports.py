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


# The backtester's engine, option parser and texts: loaded when a backtest runs. (The panel type comes with the
# candle cache the bot opens; it is a few dataclasses over NumPy, which the interpreter floor imports anyway.)
BACKTEST_MODULES = ("tradingbot.core.backtest.", "tradingbot.app.sweep", "handlers.backtest_")
BACKTEST_TYPES = {"tradingbot.core.backtest.panel"}


def imported_modules(*argv: str, cwd: Path = ROOT) -> tuple[set[str], str]:
    env = {**os.environ, "LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": ""}
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:")}, done.stdout


def imported_packages(*argv: str, cwd: Path = ROOT) -> tuple[set[str], str]:
    names, out = imported_modules(*argv, cwd=cwd)
    return {name.split(".")[0] for name in names}, out


def test_a_text_command_imports_no_plotting_telegram_binance_library_or_backtester(tmp_path):
    modules, out = imported_modules("bot.py", "--env-file", NO_ENV_FILE, "--demo", "--db",
                                    str(tmp_path / "demo.sqlite"), "chat", "/status")
    packages = {name.split(".")[0] for name in modules}
    assert "Venue: paper" in out  # the command really answered
    assert "tradingbot" in packages and "handlers" in packages  # the parse saw the product's imports
    loaded = {name: why for name, why in NOT_ON_A_TEXT_PATH.items() if name in packages}
    assert not loaded, f"a text command imported {loaded}"
    assert "tradingbot.core.backtest.panel" in modules  # the names are full module names, the prefixes can match
    engine = sorted(m for m in modules if m.startswith(BACKTEST_MODULES) and m not in BACKTEST_TYPES)
    assert not engine, f"a text command imported the backtester: {engine}"


def test_a_backtest_still_finds_the_engine_it_loads_on_first_use():
    probe = ("import sys; from tradingbot.app import backtester; "
             "assert 'tradingbot.core.backtest.simulate' not in sys.modules; "
             "from tradingbot.core.backtest.report import SweepRow; assert backtester.SweepRow is SweepRow; "
             "print('ok')")
    assert imported_modules("-c", probe)[1].strip() == "ok"


def test_the_chart_functions_are_loaded_on_first_use(tmp_path):
    probe = ("import sys, charts; assert 'matplotlib' not in sys.modules; "
             "draw = charts.equity_chart; assert 'matplotlib' in sys.modules; "
             "from charts.equity import equity_chart; assert draw is equity_chart; print('ok')")
    packages, out = imported_packages("-c", probe)
    assert out.strip() == "ok" and "matplotlib" in packages
