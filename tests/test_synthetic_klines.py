"""`bot.py data synth` writes the synthetic market's candles of any interval into the cache, `data fetch --interval 1h`
pages hourly klines from Binance (its stand-in here): backtests of any interval run offline."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timezone

import numpy as np
import sqlite_utils

from standins.binance_api import BinanceSim
from tradingbot.adapters.binance_klines import fetch_all
from tradingbot.adapters.candle_cache import CachedCandles, SqliteCandleCache
from tradingbot.adapters.clock import ManualClock, OffsetClock
from tradingbot.adapters.kline_store import KlineStore, to_ms
from tradingbot.adapters.synthetic import EPOCH, SyntheticMarket
from tradingbot.app.backtester import Backtester
from tradingbot.core.backtest.options import config_from_pairs
from tradingbot.core.params import StrategyParams


def test_hourly_synthetic_candles_land_in_the_cache_and_agree_with_the_daily_ones(tmp_path):
    cache = SqliteCandleCache(tmp_path / "k.sqlite", ManualClock(EPOCH))
    for interval in ("1h", "1d"):
        symbols, candles = asyncio.run(cache.synth(30, 50, interval, 7, lambda xs: xs))
        assert symbols >= 40 and candles > (symbols - 10) * 20 * (24 if interval == "1h" else 1)
    source = cache.source()
    hourly, _ = source.load(date(2024, 1, 10), date(2024, 1, 29), 7, "USDT", opens=True)
    daily, _ = source.load(date(2024, 1, 10), date(2024, 1, 29), 7, "USDT", opens=True, interval="1d")
    assert (hourly.interval, daily.interval, hourly.symbols) == ("1h", "1d", daily.symbols)
    assert hourly.first_day == 24 * daily.first_day
    n = min(hourly.days // 24, daily.days)
    has = daily.has[:n]
    # The last hour of each day closes where the day does, and the day's quote volume is its hours'.
    assert np.allclose(hourly.close[23:24 * n:24][has], daily.close[:n][has])
    hours = hourly.quote_volume[:24 * n].reshape(n, 24, -1)
    assert np.allclose(np.nansum(hours, axis=1)[has], daily.quote_volume[:n][has], rtol=1e-6) and has.sum() > 500


def test_a_four_hourly_backtest_at_nine_runs_on_the_synthetic_hourly_cache(tmp_path):
    cache = SqliteCandleCache(tmp_path / "k.sqlite", ManualClock(EPOCH))
    asyncio.run(cache.synth(30, 50, "1h", 7, lambda xs: xs))
    config = config_from_pairs(["every=4h", "lookback=24h", "at=09:00", "start=2024-01-10", "end=2024-01-29",
                                "min_quote_volume=0", "min_age_days=0"], StrategyParams())
    assert config.at == time(9, 0)
    report = Backtester(cache.source()).run(config)
    assert report.interval == "1h" and report.metrics["rebalances"] == 6 * 20 and len(report.equity) == 20


def test_data_fetch_pages_hourly_klines_from_the_binance_stand_in_and_the_backtester_runs_on_them(tmp_path):
    """The bot's transport against the local Binance (the synthetic market behind its REST API)."""
    clock = OffsetClock(datetime(2024, 3, 15, 0, 30, tzinfo=timezone.utc))
    market = SyntheticMarket(clock, seed=11, n_symbols=60)
    sim = BinanceSim(market, clock)
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    since = to_ms(datetime(2024, 1, 15, tzinfo=timezone.utc))

    async def scenario():
        await sim.start()
        try:
            return await fetch_all(store, ["BTCUSDT", "ETHUSDT"], "1h", since, sim.rest_url, 6000, clock)
        finally:
            await sim.stop()

    report = asyncio.run(scenario())
    hours = 60 * 24  # 2024-01-15 00:00 to the last closed hour before 2024-03-15 00:30
    assert report.candles == 2 * hours and report.requests >= 2 * 2  # two pages of at most 1000 a symbol
    stored = store.get("BTCUSDT", "1h", 0, 2**62)
    want = asyncio.run(market.candles("BTCUSDT", "1h", stored[0].open_time, stored[-1].open_time))
    assert [(c.open_time, c.close, c.quote_volume) for c in stored] == [(c.open_time, c.close, c.quote_volume)
                                                                       for c in want]
    panel, _ = CachedCandles(tmp_path / "k.sqlite").load(date(2024, 1, 25), date(2024, 3, 10), 7, "USDT", False)
    assert panel.interval == "1h" and panel.symbols == ("BTCUSDT", "ETHUSDT")
