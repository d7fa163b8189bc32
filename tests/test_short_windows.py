"""A window too short for a yearly figure says so: CAGR, Sharpe, Sortino and Calmar are reported only from 90
days, as "n/a (window 12 d)" in the text, null with the rule in JSON, an empty CSV cell, last in a sort, and
hatched heatmap cells with the reason, never an extrapolated number (BTC's 12 days of +15.9 %: CAGR +8,711 %)."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from matplotlib.image import imread

from charts import NothingToChart, heatmap_chart
from charts.backtest import _not_annualised
from charts.style import HEIGHT_PX, WIDTH_PX
from handlers.backtest_text import report_json, report_text, sweep_table
from tests.backtest_data import FIRST_DAY, make_candles, panel_of
from tests.test_backtest_cli import bot, cache  # noqa: F401  (cache is a fixture)
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.metrics import ANNUALISED_METRICS, curve_metrics
from tradingbot.core.backtest.panel import day_date
from tradingbot.app.backtester import Backtester, SweepRow
from tradingbot.core.params import StrategyParams

PANEL = panel_of(make_candles())
PARAMS = StrategyParams(topn=3, min_age_days=0, min_quote_volume=Decimal(0))


def no_nan(text: str) -> object:
    """json.loads that refuses NaN and Infinity, which are not JSON (Python's own parser accepts them)."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} in JSON")
    return json.loads(text, parse_constant=refuse)


def report(days: int):
    config = BacktestConfig(PARAMS, day_date(FIRST_DAY + 30), day_date(FIRST_DAY + 29 + days))
    return Backtester("unused.sqlite").run(config, panel=PANEL)


def test_annualised_figures_start_at_ninety_days():
    rising = 10_000 * 1.01 ** np.arange(1, 91)  # +1 % a day: CAGR 3,678 % over 12 days, a wild guess
    for days in (12, 89):
        m = curve_metrics(rising[:days], 10_000)
        assert all(math.isnan(m[k]) for k in ANNUALISED_METRICS)
        assert m["total_return"] == pytest.approx(1.01 ** days - 1) and m["max_drawdown"] == 0.0
    m = curve_metrics(rising, 10_000)
    assert m["cagr"] == pytest.approx(1.01 ** 365 - 1) and m["sharpe"] > 0 and m["sortino"] == 0.0


def test_the_text_says_n_a_with_the_window_instead_of_a_number():
    text = report_text(report(12))
    rows = {line.split("  ")[0]: line for line in text.splitlines()}
    for label in ("CAGR", "Sharpe", "Sortino", "Calmar"):
        assert rows[label].endswith("n/a (window 12 d)") and "%" not in rows[label]
    assert "%" in rows["total return"] and "%" in rows["max drawdown"]
    assert text.splitlines()[-1] == ("CAGR, Sharpe, Sortino and Calmar are annualised, reported only for windows "
                                     "of at least 90 days (window 12 d)")
    long = report_text(report(90))
    assert "n/a" not in long and "annualised" not in long


def test_json_has_null_and_the_rule_for_the_run_and_its_benchmarks():
    out = no_nan(json.dumps(report_json(report(12))))
    for figures in (out, *out["benchmarks"].values()):
        assert all(figures[k] is None for k in ANNUALISED_METRICS)
        assert figures["annualised_min_days"] == 90 and "(window 12 d)" in figures["annualised_note"]
        assert isinstance(figures["total_return"], float)
    long = no_nan(json.dumps(report_json(report(90))))
    assert isinstance(long["cagr"], float) and long["annualised_note"] is None and long["annualised_min_days"] == 90


def test_a_sweep_puts_short_windows_last_with_empty_csv_cells_and_n_a_heatmaps(cache, tmp_path):  # noqa: F811
    out = bot("backtest", "--cache", str(cache), "--start", "2022-02-01", "--sweep", "end=2022-02-12,2022-05-30",
              "topn=2,4", "--sort", "cagr", "--min-quote-volume", "0", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    table = out.stdout.split("sorted by cagr\n")[1].splitlines()
    assert [line.split()[0] for line in table[1:5]] == ["2022-05-30", "2022-05-30", "2022-02-12", "2022-02-12"]
    assert [line.count("n/a") for line in table[1:5]] == [0, 0, 2, 2]  # cagr and sharpe
    assert table[5].startswith("n/a: CAGR, Sharpe")
    with (tmp_path / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        short = r["end"] == "2022-02-12"
        assert all((r[k] == "") == short for k in ANNUALISED_METRICS) and float(r["total_return"])
    assert (tmp_path / "heatmap_cagr.png").exists()
    runs = no_nan(bot("backtest", "--cache", str(cache), "--start", "2022-02-01", "--end", "2022-02-12", "--sweep",
                      "topn=2,4", "--min-quote-volume", "0", "--json", "--out", str(tmp_path / "j")).stdout)
    assert [r["sharpe"] for r in runs] == [None, None] and runs[0]["annualised_min_days"] == 90


def test_the_default_sort_by_sharpe_keeps_runs_without_one_last():
    rows = [SweepRow((f"topn={n}",), BacktestConfig(), m) for n, m in
            [(1, {"sharpe": math.nan}), (2, {"sharpe": -0.5}), (3, {"sharpe": 1.5}), (4, {"sharpe": math.nan})]]
    metrics = {"final_equity": 1.0, "total_return": 0.0, "cagr": math.nan, "max_drawdown": 0.0, "fees_paid": 0.0,
               "turnover": 0.0, "days": 40.0}
    rows = [replace(r, metrics={**metrics, **r.metrics}) for r in rows]
    lines = sweep_table(rows, ["topn"], "sharpe").splitlines()
    assert [line.split()[0] for line in lines[2:6]] == ["3", "2", "1", "4"]


def test_a_heatmap_of_a_short_window_says_why_instead_of_drawing_numbers():
    config = BacktestConfig(PARAMS, date(2022, 2, 1), date(2022, 2, 12))
    rows = [SweepRow((f"lookback={lb}", f"topn={n}"), config, {"days": 12.0, "cagr": math.nan, "total_return": 0.1})
            for lb in ("3d", "7d") for n in (2, 4)]
    note = _not_annualised(rows, "cagr")
    assert note == "n/a: cagr is annualised, not shown for windows under 90 days (12 d)"
    assert _not_annualised(rows, "total_return") == ""
    png = heatmap_chart([[None, None], [None, None]], ["a", "b"], ["x", "y"], "cagr", "cagr", missing=note)
    assert imread(io.BytesIO(png)).shape[:2] == (HEIGHT_PX, WIDTH_PX)
    with pytest.raises(NothingToChart):  # with no reason given, an empty grid is still nothing to chart
        heatmap_chart([[None, None], [None, None]], ["a", "b"], ["x", "y"], "cagr", "cagr")

