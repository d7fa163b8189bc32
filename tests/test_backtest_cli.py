"""bot.py backtest / data and /backtest, as a person runs them (subprocesses over real files)."""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.builders import NO_ENV_FILE
from tests.backtest_data import make_candles, write_candles_csv
from handlers.backtest_flags import add_arguments, pairs_from_args
from handlers.backtest_text import describe
from tradingbot.core.backtest.options import config_from_pairs
from tradingbot.core.params import StrategyParams, spec_of

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "binance_spot_usdt_1d.csv.gz"
ENV = {**os.environ, "LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": "", "CHART_DIR": tempfile.mkdtemp(prefix="itb-")}


def bot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env or ENV)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bt")
    data = write_candles_csv(folder / "candles.csv", make_candles(seed=3), extra="BADUSDT,2022-02-01,1,1,1,oops,1\n")
    done = bot("data", "import", "--cache", str(folder / "k.sqlite"), str(data))
    assert done.returncode == 0, done.stderr
    assert "bad row: candles.csv:" in done.stderr and "close is not a number" in done.stderr
    assert "imported" in done.stdout and "29 symbols" in done.stdout
    return folder / "k.sqlite"


def test_backtest_json_from_the_cache(cache):
    out = bot("backtest", "--cache", str(cache), "--lookback", "5d", "--topn", "4", "--min-quote-volume", "1e5",
              "--start", "2022-02-01", "--end", "2022-05-01", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for key in ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "fees_paid", "fills",
                "turnover"):
        assert isinstance(result[key], float)
    assert result["start"] == "2022-02-01" and result["end"] == "2022-05-01" and result["fills"] > 100
    assert result["params"]["lookback"] == "5d" and "BTC buy & hold" in result["benchmarks"]


def test_the_cli_choices_are_the_parameter_tables_words():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    choices = {a.dest: a.choices for a in parser._actions}
    assert choices["strategy"] == spec_of("strategy").choices == ("momentum", "reversal")
    assert choices["mode"] == spec_of("mode").choices == ("full", "delta")
    assert parser.parse_args(["--strategy", "reversal", "--mode", "delta"]).mode == "delta"
    half = pairs_from_args(parser.parse_args(["--invest-fraction", "0.5", "--fee", "0.002"]))
    assert half == ["invest_fraction=0.5", "fee=0.002"]
    assert "50 % invested" in describe(config_from_pairs(half, StrategyParams()))
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "half"])


def test_bad_options_are_refused_in_one_line(cache):
    out = bot("backtest", "--cache", str(cache), "--topn", "0")
    assert out.returncode == 1 and out.stderr.strip() == "⚠ topn must be a whole number from 1 to 50 (got '0')"
    out = bot("backtest", "--cache", str(cache), "--every", "4h")
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1] == (  # a period finer than the candles
        "⚠ every 4h is not a whole number of 1d candles")


def test_any_whole_number_of_days_or_weeks_is_a_backtest_period(cache):
    runs = {}
    for every in ("3d", "2w"):
        out = bot("backtest", "--cache", str(cache), "--every", every, "--lookback", "10d", "--topn", "3",
                  "--min-quote-volume", "0", "--start", "2022-02-01", "--end", "2022-05-01", "--json")
        assert out.returncode == 0, out.stderr
        runs[every] = json.loads(out.stdout)
        assert runs[every]["params"]["every"] == every and runs[every]["params"]["lookback"] == "10d"
    assert runs["3d"]["fills"] > runs["2w"]["fills"] > 0  # 30 rebalances against 7


def test_a_sweep_writes_a_sorted_table_a_csv_and_heatmaps(cache, tmp_path):
    out = bot("backtest", "--cache", str(cache), "--sweep", "lookback=2d,5d", "topn=2,4", "strategy=momentum,reversal",
              "--sort", "total_return", "--out", str(tmp_path), "--min-quote-volume", "0")
    assert out.returncode == 0, out.stderr
    with (tmp_path / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {r["strategy"] for r in rows} == {"momentum", "reversal"}
    table = out.stdout.split("sorted by total_return\n")[1].splitlines()[1:9]
    returns = [float(line.split()[4].replace(",", "")) for line in table]
    assert returns == sorted(returns, reverse=True)
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["heatmap_total_return_strategy-momentum.png", "heatmap_total_return_strategy-reversal.png"]


def test_backtest_in_the_chat_answers_with_metrics_and_a_chart(cache, tmp_path):
    env = {**ENV, "KLINE_DB_PATH": str(cache), "CHART_DIR": str(tmp_path)}
    out = bot("--demo", "--db", str(tmp_path / "demo.sqlite"), "chat",
              "/backtest lookback=5d topn=3 min_quote_volume=0 start=2022-03-01", "/backtest topn=x", env=env)
    assert out.returncode == 0, out.stderr
    assert "Backtest: momentum 5d top 3" in out.stdout and "2022-03-01 →" in out.stdout
    assert "max drawdown" in out.stdout and "⚠ topn must be a whole number" in out.stdout
    assert list(tmp_path.glob("*backtest*.png"))


def test_the_offline_commands_read_the_settings_as_the_bot_does(cache, tmp_path):
    """One settings object: `export`, an inline comment, and a bad value elsewhere are read as for the bot."""
    env_file = tmp_path / "settings.env"
    env_file.write_text(f"export KLINE_DB_PATH={cache}  # the candle cache\n")
    env = {k: v for k, v in ENV.items() if k not in ("KLINE_DB_PATH", "STARTING_CAPITAL")}

    def backtest() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "bot.py", "--env-file", str(env_file), "backtest", "--lookback", "5d",
                               "--topn", "3", "--min-quote-volume", "0", "--start", "2022-03-01", "--json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)

    out = backtest()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["start"] == "2022-03-01"
    env_file.write_text(env_file.read_text() + "STARTING_CAPITAL=lots\n")
    out = backtest()
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == "configuration error: STARTING_CAPITAL: must be a number above 0, at most 1e15 " \
                                 "(got 'lots')"


@pytest.mark.skipif(not SHARED.exists(), reason="the shared daily data is not here")
def test_the_shared_data_imports_and_backtests(tmp_path):
    done = bot("data", "import", "--cache", str(tmp_path / "k.sqlite"), str(SHARED))
    assert done.returncode == 0 and "imported 680,552 candles of 620 symbols" in done.stdout, done.stderr
    assert "left out 425 rows flagged partial_day" in done.stdout and not done.stderr.count("bad row")
    out = bot("backtest", "--cache", str(tmp_path / "k.sqlite"), "--strategy", "momentum", "--lookback", "7d",
              "--topn", "10", "--every", "1d", "--fee", "0.001", "--start", "2021-01-01", "--end", "2024-12-31",
              "--json")
    result = json.loads(out.stdout)
    assert result["days"] == 1461 and result["rebalances"] == 1461 and result["avg_holdings"] == 10
    closes = {}  # read straight from the file's text, apart from the importer
    with gzip.open(SHARED, "rt") as f:
        for line in f:
            if line.startswith(("BTCUSDT,2021-01-01,", "BTCUSDT,2024-12-31,")):
                closes[line.split(",")[1]] = float(line.split(",")[6])
    btc = result["benchmarks"]["BTC buy & hold"]
    assert btc["total_return"] == pytest.approx(closes["2024-12-31"] / closes["2021-01-01"] - 1, rel=1e-12)
