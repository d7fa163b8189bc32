"""The arrays a panel keeps for the runs on it: the exclusion mask against a fresh computation whatever the
options' order."""
from __future__ import annotations

from dataclasses import replace

from tests.backtest_data import make_candles, panel_of
from tradingbot.core.backtest.config import allowed_columns
from tradingbot.core.params import StrategyParams


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
