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
from tradingbot.core.backtest import execution
from tradingbot.core.backtest.execution import (SPREAD_DAYS, VolumeCosts, _days, daily_sigma, half_spread,
                                                model_inputs)
from tradingbot.core.backtest.panel import build_panel
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


def without_volume(panel):
    """The panel with every other symbol's quote volume 0 throughout: their impact is the cap on any order."""
    qv = panel.quote_volume.copy()
    qv[:, 1::2] = np.where(np.isnan(qv[:, 1::2]), np.nan, 0.0)
    return replace(panel, quote_volume=qv)


@pytest.mark.parametrize("capital, invest, dead", [(1e5, "1", False), (1e5, "0.6", False), (1e11, "1", False),
                                                   (1e5, "1", True)])  # 1e11: impact at its cap
def test_full_mode_under_the_volume_model_is_the_fill_by_fill_arithmetic(capital, invest, dead):
    panel = without_volume(ranged_panel(0.002)) if dead else ranged_panel(0.002)
    config = synthetic_config("full", capital, cost_model="volume")
    config = replace(config, params=replace(config.params, invest_fraction=Decimal(invest)))
    run = simulate(panel, config)
    at, marks, fills = fill_by_fill(panel, config)
    assert len(at) > 20 and np.array_equal(run.trade_rows - run.first_row, at)
    np.testing.assert_allclose(run.equity[at], marks, rtol=1e-12)
    assert run.fills == fills.fills and run.impact > 0
    assert not dead or run.impact > 0.1 * run.traded  # orders at the cap were filled
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
    # Window sums by doubling add in another order than one window's sum: equal to the last bits. The spread's
    # mean can be a small difference of larger products, so its bound is the looser one.
    np.testing.assert_allclose(spread, half_spread(close, high, low), rtol=1e-9, atol=0)
    np.testing.assert_allclose(sigma, daily_sigma(close), rtol=1e-12, atol=0)
    assert np.count_nonzero(spread) > 100


def gappy_panel(seed: int, per_day: int):
    """Random candles, each symbol listed on its own day (some mid-window) and missing ~10% of its candles."""
    rng = np.random.default_rng(seed)
    symbols, steps, columns = [], [], []
    for s in range(8):
        start = int(rng.integers(0, 60 * per_day))
        step = np.arange(start, 120 * per_day)
        step = step[rng.random(len(step)) > 0.1]
        close = 10.0 ** rng.uniform(-3, 3) * np.exp(np.cumsum(rng.normal(0, 0.04 / np.sqrt(per_day), len(step))))
        open_ = close * np.exp(rng.normal(0, 0.01, len(step)))
        pad = 1 + rng.uniform(0, 0.03, (2, len(step)))
        symbols += [f"S{s}USDT"] * len(step)
        steps.append(step)
        columns.append((open_, close, np.maximum(open_, close) * pad[0], np.minimum(open_, close) / pad[1]))
    open_, close, high, low = (np.concatenate(c) for c in zip(*columns))
    return build_panel(np.array(symbols), np.concatenate(steps) + 19000 * per_day, open_, close,
                       np.full(len(close), 1e6), step_ms=86_400_000 // per_day, high=high, low=low)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("per_day", [1, 6])
def test_the_model_inputs_on_gappy_panels_are_those_of_each_pairs_own_days(seed, per_day):
    panel = gappy_panel(seed, per_day)
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, len(panel.close), 400), rng.integers(0, len(panel.symbols), 400)
    spread, sigma = model_inputs(panel, rows, cols)
    closes, highs, lows, days = _days(panel, rows)
    at = days[None, :] + np.arange(-SPREAD_DAYS, 1)[:, None]
    close, high, low = (np.where(at >= 0, a[np.maximum(at, 0), cols[None, :]], np.nan) for a in (closes, highs, lows))
    np.testing.assert_allclose(spread, half_spread(close, high, low), rtol=1e-9, atol=0)
    np.testing.assert_allclose(sigma, daily_sigma(close), rtol=1e-9, atol=0)
    assert np.count_nonzero(spread) > 50 and np.count_nonzero(sigma) > 200 and np.count_nonzero(sigma == 0) > 5


def test_what_the_model_worked_out_on_a_panel_is_kept_with_it_and_read_back_exactly():
    panel = ranged_panel(0.002)
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, len(panel.close), 400), rng.integers(0, len(panel.symbols), 400)
    rows[300:], cols[300:] = rows[:100], cols[:100]  # asked twice in one call
    cold = model_inputs(panel, rows[200:], cols[200:])
    panel.forget()
    model_inputs(panel, rows[:250], cols[:250])  # knows part of what is asked next
    warm = model_inputs(panel, rows[200:], cols[200:])
    again = model_inputs(panel, rows[200:], cols[200:])  # all known
    for got in (warm, again):
        assert all(np.array_equal(a, b) for a, b in zip(got, cold))
    assert len(panel.recall(execution.KNOWN)[0]) == len(set(zip(rows.tolist(), cols.tolist())))
