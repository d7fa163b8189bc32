"""Sweep heatmaps read honestly: one scale centred on zero for gains and losses, values in percent, a line when
every run lost, and the settings every run shares; a bad --sort is refused before any run."""
from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np

from charts.heatmap import _best_worst, _cell, _colours
from handlers.backtest_text import fixed_settings
from tests.test_backtest_cli import bot, cache  # noqa: F401  (cache is a fixture)
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.metrics import METRICS
from tradingbot.app.backtester import SweepRow
from tradingbot.core.params import StrategyParams

MOMENTUM = np.array([[-0.69, -0.85], [-0.999, -0.67]])  # every run lost
REVERSAL = np.array([[-0.20, 0.35], [0.10, 0.04]])


def test_signed_metrics_share_one_scale_centred_on_zero():
    for grid in (MOMENTUM, REVERSAL):
        cmap, norm, diverging = _colours(grid, "total_return")
        assert diverging and cmap.name.startswith("RdBu") and norm.vmin == -norm.vmax and norm.vmax > 0
        assert norm(0.0) == 0.5  # zero is the scale's white middle on both charts
    assert _colours(np.array([[2.0, 3.0]]), "turnover")[2] is False  # an unsigned figure keeps its own scale


def test_a_best_cell_that_lost_says_so_in_percent():
    labels = (["lookback 2d", "lookback 5d"], ["top 2", "top 4"])
    text = _best_worst(MOMENTUM, *labels, "total_return")
    assert "highest −67.0 % at lookback 5d, top 4" in text
    assert "every run lost: −67.0 % to −99.9 %" in text
    assert "every run" not in _best_worst(REVERSAL, *labels, "total_return")
    assert _cell(-0.69, "total_return") == "−69.0 %" and _cell(1.234, "sharpe") == "1.23"


def test_the_subtitle_names_what_every_run_shares():
    config = BacktestConfig(StrategyParams(fee_rate=Decimal("0.002"), every="1w"), start=date(2022, 2, 1), delay=1)
    rows = [SweepRow(("lookback=7d", "topn=5"), config, {"days": 89.0}),
            SweepRow(("lookback=14d", "topn=5"), config, {"days": 82.0})]
    assert fixed_settings(rows, ["lookback", "topn", "strategy"]) == (
        "every 1w, full, fee 0.2 %, slippage 5 bps, delay 1, 2022-02-01 → last day (82–89 d)")


def test_swept_window_ends_and_delay_are_not_named_as_fixed():
    config = BacktestConfig(StrategyParams(), date(2022, 2, 1), date(2022, 2, 12), delay=1)
    rows = [SweepRow(("end=2022-02-12", "delay=1"), config, {"days": 12.0}),
            SweepRow(("end=2022-05-30", "delay=1"), replace(config, end=date(2022, 5, 30)), {"days": 119.0})]
    text = fixed_settings(rows, ["end", "delay"])
    assert text.endswith("slippage 5 bps, from 2022-02-01 (12–119 d)") and "delay" not in text
    assert fixed_settings(rows[:1], ["topn"]).endswith("delay 1, 2022-02-01 → 2022-02-12 (12 d)")


def test_a_bad_sort_key_is_refused_before_any_run(cache, tmp_path):  # noqa: F811
    out = bot("backtest", "--cache", str(cache), "--sweep", "lookback=2d,5d", "topn=2,4", "--sort", "sharp",
              "--out", str(tmp_path / "out"))
    assert out.returncode == 1 and out.stderr.strip().startswith("⚠ --sort must be one of final_equity,")
    assert "run 1/" not in out.stderr and "loading candles" not in out.stderr and not (tmp_path / "out").exists()
    good = bot("backtest", "--cache", str(cache), "--sweep", "lookback=2d,5d", "--sort", "cagr",
               "--out", str(tmp_path / "ok"), "--min-quote-volume", "0")
    assert good.returncode == 0, good.stderr
    with (tmp_path / "ok" / "sweep.csv").open() as f:
        assert next(csv.reader(f)) == ["lookback", *METRICS]  # the names --sort checks are the figures a run has
