"""The volume model's fast paths against the plain arithmetic: full mode runs the cash recursion over each
trade's picks only and must give what selling every holding and buying the picks one fill at a time
(_Fills.sell / _Fills.buy, as delta mode fills) gives; the model's inputs, read cell by cell once, must be
those of each pair's own 31-day window."""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from tests.test_backtest_costs import ranged_panel, synthetic_config
from tradingbot.core.backtest.config import allowed_columns, signal_rows, window
from tradingbot.core.backtest.execution import SPREAD_DAYS, VolumeCosts, daily_sigma, half_spread, model_inputs
from tradingbot.core.backtest.signals import eligible, pick
from tradingbot.core.backtest.simulate import _Fills, simulate


def fill_by_fill(panel, config):
    """The trades' rows, the equity after each trade and the costs, selling and buying one trade at a time."""
    p = config.params
    first, last = window(panel, config)
    rows = signal_rows(panel, config, first, last)
    ok, score = eligible(panel, rows, config.lookback_rows(panel), p.min_age_days, float(p.min_quote_volume),
                         allowed_columns(panel, p))
    picks = pick(ok, score, p.topn, p.strategy)
    rows, picks = rows[picks.any(axis=1)], picks[picks.any(axis=1)]
    last_picks = np.vstack([np.zeros_like(picks[:1]), picks[:-1]])
    fills = _Fills.at(config.costs, VolumeCosts.at(panel, rows, picks | last_picks, config.execution.impact_k))
    q, cash, marks = np.zeros(len(panel.symbols)), config.capital, []
    with np.errstate(invalid="ignore"):
        for k, row in enumerate(rows.tolist()):
            fills.trade, px = k, panel.price0[row]
            held = np.flatnonzero(q)
            if held.size:
                cash += fills.sell(q, q.copy(), held, px)
            cols = np.flatnonzero(picks[k])
            cash -= fills.buy(q, cols, np.full(len(cols), cash * float(p.invest_fraction) / len(cols)), px)
            marks.append(cash + float(px @ q))
    return rows - first, np.array(marks), fills


@pytest.mark.parametrize("capital, invest", [(1e5, "1"), (1e5, "0.6"), (1e11, "1")])  # 1e11: impact at its cap
def test_full_mode_under_the_volume_model_is_the_fill_by_fill_arithmetic(capital, invest):
    panel = ranged_panel(0.002)
    config = synthetic_config("full", capital, cost_model="volume")
    config = replace(config, params=replace(config.params, invest_fraction=Decimal(invest)))
    run = simulate(panel, config)
    at, marks, fills = fill_by_fill(panel, config)
    assert len(at) > 20 and np.array_equal(run.trade_rows - run.first_row, at)
    np.testing.assert_allclose(run.equity[at], marks, rtol=1e-12)
    assert run.fills == fills.fills and run.impact > 0
    for name in ("fees", "traded", "slippage", "spread", "impact"):
        assert getattr(run, name) == pytest.approx(getattr(fills, name), rel=1e-12), name


def test_the_model_inputs_are_those_of_each_pairs_own_window():
    panel = ranged_panel(0.002)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, len(panel.close), 300), rng.integers(0, len(panel.symbols), 300)
    rows[:5] = 0  # windows reaching before the first row
    rows[5:10], cols[5:10] = rows[10:15], cols[10:15]  # the same pair twice (an intraday run's day)
    spread, sigma = model_inputs(panel, rows, cols)
    at = rows[None, :] + np.arange(-SPREAD_DAYS, 1)[:, None]
    close, high, low = (np.where(at >= 0, a[np.maximum(at, 0), cols[None, :]], np.nan)
                        for a in (panel.close, panel.high, panel.low))
    assert np.array_equal(spread, half_spread(close, high, low)) and np.count_nonzero(spread) > 100
    assert np.array_equal(sigma, daily_sigma(close))
