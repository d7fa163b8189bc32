"""The backtester's picks and the arrays a panel keeps for them: ranked_picks (parts of the rows, columns in listing
order, argpartition, ties only where they cross the cut) against a plain loop written from the spec, and the
panel's memo (the exclusion mask, the filtered closes) against a fresh computation whatever the options' order."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tests.backtest_data import make_candles, panel_of
from tradingbot.core.backtest.config import allowed_columns
from tradingbot.core.backtest.panel import DAY_MS, MEMO_PANELS, Panel
from tradingbot.core.backtest.signals import eligible, pick, ranked_picks
from tradingbot.core.params import StrategyParams


def plain_picks(panel: Panel, rows: list[int], lookback: int, filters: tuple[int, float, np.ndarray], topn: int,
                strategy: str) -> list[tuple[int, int]]:
    """(index into rows, column) of each pick, one cell at a time from the definition of eligible and pick."""
    min_age, min_volume, allowed = filters
    close, volume = panel.close.tolist(), panel.volume_mean.tolist()
    out = []
    for i, t in enumerate(rows):
        scored = []
        for c in range(len(panel.symbols)):
            now, then = close[t][c], close[t - lookback][c] if t >= lookback else float("nan")
            if (now == now and then == then and then > 0 and volume[t][c] >= min_volume and allowed[c]
                    and panel.listed[c] <= panel.first_day + t + 1 - min_age * panel.per_day):
                score = now / then - 1
                scored.append((-score if strategy == "momentum" else score, c))
        out += [(i, c) for _, c in sorted(scored)[:topn]]
    return sorted(out)


@st.composite
def panels(draw) -> Panel:
    """A few symbols over a few dozen candles, closes from a handful of values (so returns tie often), with gaps,
    closes of 0 and below, listings in any order against the names, and volumes around the filter's."""
    n, days = draw(st.integers(2, 12)), draw(st.integers(12, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    close = rng.choice([0.5, 1.0, 1.0, 2.0, 3.0, 4.0, 0.0, -1.0], size=(days, n),
                       p=[0.2, 0.2, 0.2, 0.15, 0.1, 0.1, 0.03, 0.02])
    close[rng.random((days, n)) < 0.15] = np.nan
    volume = np.where(np.isnan(close), np.nan, 10 ** rng.uniform(4, 7, size=(days, n)))
    step = draw(st.sampled_from([DAY_MS, DAY_MS // 6]))
    first = 19_000 * (DAY_MS // step) + draw(st.integers(0, 5))
    listed = first + rng.integers(-10, days, size=n)
    return Panel(first, tuple(f"S{i}USDT" for i in range(n)), close, close.copy(), volume, listed, step)


@settings(max_examples=150, deadline=None)
@given(panel=panels(), lookback=st.integers(1, 6), topn=st.integers(1, 8), start=st.integers(0, 8),
       every=st.integers(1, 4), min_age=st.integers(0, 3), min_volume=st.sampled_from([0.0, 1e5, 1e6]),
       strategy=st.sampled_from(["momentum", "reversal"]), seed=st.integers(0, 1000))
def test_ranked_picks_are_the_plain_loops(panel, lookback, topn, start, every, min_age, min_volume, strategy, seed):
    rows = np.arange(start, panel.days, every)
    allowed = np.random.default_rng(seed).random(len(panel.symbols)) < 0.85
    filters = (min_age, min_volume, allowed)
    want = plain_picks(panel, rows.tolist(), lookback, filters, topn, strategy)
    at, cols = ranked_picks(panel, rows, lookback, filters, topn, strategy)
    assert list(zip(at.tolist(), cols.tolist())) == want
    mask = pick(*eligible(panel, rows, lookback, *filters), topn, strategy)
    assert list(zip(*(a.tolist() for a in np.nonzero(mask)))) == want


@pytest.mark.parametrize("strategy", ["momentum", "reversal"])
def test_ties_across_the_cut_go_by_name_whatever_the_listing_order(strategy):
    """Five symbols with the same return, listed in the reverse of their name order: topn 2 takes the first two
    names; a sixth, better one is in first."""
    days, n = 12, 6
    close = np.ones((days, n))
    close[-1] = 2.0
    close[-1, 5] = 3.0 if strategy == "momentum" else 1.5
    panel = Panel(19_000, tuple(f"{c}USDT" for c in "ABCDEF"), close, close, np.full((days, n), 1e7),
                  np.arange(19_000 + 5, 19_000 - 1, -1))
    filters = (0, 0.0, np.ones(n, dtype=bool))
    for topn, want in ((1, [5]), (2, [0, 5]), (3, [0, 1, 5])):
        at, cols = ranked_picks(panel, np.array([days - 1]), 1, filters, topn, strategy)
        assert cols.tolist() == want and at.tolist() == [0] * topn


def test_the_exclusion_mask_is_made_once_per_panel_and_rules():
    panel = panel_of(make_candles(3))
    usdt, blacklisted = StrategyParams(), StrategyParams(blacklist=frozenset({"CAAUSDT"}))
    first = allowed_columns(panel, usdt)
    assert allowed_columns(panel, usdt) is first and not first.flags.writeable  # shared by every run
    assert allowed_columns(panel, StrategyParams(exclude=frozenset())) is not first
    for params in (blacklisted, usdt, StrategyParams(exclude=frozenset()), StrategyParams(quote="BTC"), blacklisted):
        fresh = allowed_columns(replace(panel), params)  # replace: a new panel, nothing remembered
        assert allowed_columns(panel, params).tolist() == fresh.tolist()
    assert not allowed_columns(panel, blacklisted)[panel.symbols.index("CAAUSDT")] and first.sum() > 20


def test_the_filtered_closes_follow_the_options_and_stay_few():
    """Runs with other filters on one panel, in any order, pick what they pick on a fresh panel; the panel keeps
    at most MEMO_PANELS close-sized arrays of them."""
    panel = panel_of(make_candles(4))
    rows, n = np.arange(10, panel.days), len(panel.symbols)
    options = [(age, volume, allowed) for age in (0, 5, 30) for volume in (0.0, 3e5, 3e6)
               for allowed in (np.ones(n, dtype=bool), np.arange(n) % 3 > 0)]
    for filters in options + options[::-1]:
        for strategy in ("momentum", "reversal"):
            got = ranked_picks(panel, rows, 5, filters, 4, strategy)
            fresh = ranked_picks(replace(panel), rows, 5, filters, 4, strategy)
            assert all(np.array_equal(a, b) for a, b in zip(got, fresh))
        assert panel.memo_bytes() <= MEMO_PANELS * panel.close.nbytes
    quieter = replace(panel, quote_volume=panel.quote_volume / 100)  # a new panel: the filters read its volumes
    filters = (0, 3e5, np.ones(n, dtype=bool))
    assert ranked_picks(quieter, rows, 5, filters, 4, "momentum")[0].size < \
        ranked_picks(panel, rows, 5, filters, 4, "momentum")[0].size


def test_a_panel_with_no_one_eligible_picks_nothing():
    panel = panel_of(make_candles(5))
    at, cols = ranked_picks(panel, np.arange(panel.days), 3, (0, 1e12, np.ones(len(panel.symbols), bool)), 5,
                            "momentum")
    assert at.size == cols.size == 0
    mask, _ = eligible(panel, np.arange(panel.days), 3, 0, 0.0, np.ones(len(panel.symbols), bool))
    assert mask[3:].any() and not mask[:3].any()  # nothing before the first candle lookback rows back
