"""The backtester and the live engine (paper venue, synthetic market) follow the same equity path.

The live bot rebalances at 00:00 UTC: its last closed hourly candle closes at the daily close of
the day before, and its volume window is the 7 days up to that day. So the live rebalance at
t + 1 00:00 is the backtest's day t, and both value the book at that day's close.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from tests.builders import paper_bot
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.panel import build_panel, day_number
from tradingbot.core.backtest.simulate import simulate
from tradingbot.adapters.clock import ManualClock
from tradingbot.app.market_view import valuation_prices
from tradingbot.core.params import StrategyParams

FIRST = datetime(2024, 3, 1, tzinfo=timezone.utc)  # the first live rebalance
DAYS = 30
SYMBOLS = 60


async def daily_panel(market: SyntheticMarket, until: datetime):
    """Every symbol's closed daily candles from the synthetic market, as the backtester's arrays."""
    rows = []
    for r in await market.symbols():
        for c in await market.candles(r.symbol, "1d", datetime(2024, 1, 1, tzinfo=timezone.utc), until):
            rows.append((r.symbol, day_number(c.open_time.date()), float(c.open), float(c.close),
                         float(c.quote_volume)))
    return build_panel(*(np.array(col) for col in zip(*rows)))


async def live_path(tmp_path, params: StrategyParams, slots: int = DAYS, step: timedelta = timedelta(days=1)
                    ) -> list[float]:
    clock = ManualClock(FIRST - timedelta(hours=1))
    market = SyntheticMarket(clock, seed=7, n_symbols=SYMBOLS)
    store, _, services = paper_bot(tmp_path / "live.sqlite", market, clock, params, Decimal(10000))
    equity = []
    for slot in range(slots):
        clock.set(FIRST + slot * step)
        summary = await services.rebalance_slot()
        assert summary.state == "done" and not summary.errors
        ledger = store.load_ledger()
        equity.append(float(ledger.equity(await valuation_prices(market, ledger.holdings(), "USDT", clock.now()))))
    return equity


@pytest.mark.parametrize("invest_fraction", ["1", "0.5"])  # 0.5: half the equity stays cash, live and backtested
@pytest.mark.parametrize("mode", ["full", "delta"])
def test_backtest_follows_the_live_engine_day_by_day(tmp_path, mode, invest_fraction):
    params = StrategyParams(strategy="momentum", lookback=timedelta(days=7), topn=5, every="1d", at=time(0, 0),
                            min_age_days=3, min_quote_volume=Decimal(2_000_000), mode=mode,
                            fee_rate=Decimal("0.001"), slippage_bps=Decimal(0), latency_ms=0,
                            invest_fraction=Decimal(invest_fraction))
    live = asyncio.run(live_path(tmp_path, params))
    market = SyntheticMarket(ManualClock(FIRST + timedelta(days=DAYS)), seed=7, n_symbols=SYMBOLS)
    panel = asyncio.run(daily_panel(market, FIRST + timedelta(days=DAYS)))
    signal = (FIRST - timedelta(days=1)).date()
    run = simulate(panel, BacktestConfig(params, signal, signal + timedelta(days=DAYS - 1), capital=10000.0))
    gaps = np.abs(run.equity / np.array(live) - 1)
    assert gaps.max() < 0.001, f"largest gap {gaps.max():.5f} on day {int(gaps.argmax())}"
    assert abs(live[-1] / 10000 - 1) > 0.01  # the path really moves, so agreeing means something


async def hourly_panel(market: SyntheticMarket, until: datetime):
    """Every symbol's closed hourly candles from the synthetic market, as the backtester's arrays."""
    rows = []
    for r in await market.symbols():
        for c in await market.candles(r.symbol, "1h", datetime(2024, 2, 1, tzinfo=timezone.utc), until):
            if c.close_time < until:
                rows.append((r.symbol, int(c.open_time.timestamp()) // 3600, float(c.open), float(c.close),
                             float(c.quote_volume)))
    listed = {r.symbol: int((await market.first_candle_time(r.symbol)).timestamp()) // 3600
              for r in await market.symbols()}
    return build_panel(*(np.array(col) for col in zip(*rows)), listed=listed, step_ms=3_600_000)


@pytest.mark.parametrize("mode", ["full", "delta"])
def test_backtest_follows_the_live_engine_every_four_hours_on_hourly_candles(tmp_path, mode):
    """The same agreement on hourly candles: the live bot every 4h (slots at 00:00, 04:00 … UTC), the backtest
    on the synthetic market's hourly candles with every=4h from the close of the day before the first slot."""
    params = StrategyParams(strategy="momentum", lookback=timedelta(hours=24), topn=5, every="4h", at=time(0, 0),
                            min_age_days=3, min_quote_volume=Decimal(2_000_000), mode=mode,
                            fee_rate=Decimal("0.001"), slippage_bps=Decimal(0), latency_ms=0)
    slots = 6 * 8
    live = asyncio.run(live_path(tmp_path, params, slots, timedelta(hours=4)))
    market = SyntheticMarket(ManualClock(FIRST + timedelta(days=9)), seed=7, n_symbols=SYMBOLS)
    panel = asyncio.run(hourly_panel(market, FIRST + timedelta(days=9)))
    first = (FIRST - timedelta(days=1)).date()
    run = simulate(panel, BacktestConfig(params, first, first + timedelta(days=8), capital=10000.0))
    marks = run.equity[23::4][:slots]  # after each 4-hourly trade, at the close it traded on
    assert (run.trade_rows[:slots] - run.first_row == np.arange(23, 23 + 4 * slots, 4)).all()
    gaps = np.abs(marks / np.array(live) - 1)
    assert gaps.max() < 0.001, f"largest gap {gaps.max():.5f} at slot {int(gaps.argmax())}"
    assert abs(live[-1] / 10000 - 1) > 0.01
