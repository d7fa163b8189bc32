"""The report's period, time-of-day and latency sections: on hourly candles when the cache has them, else the
exact command that fetches them."""
from __future__ import annotations

import asyncio
from datetime import date

from benchmarks.strategy_frequency import fetch_command, sections
from benchmarks.strategy_report import cfg, table
from tradingbot.adapters.candle_cache import SqliteCandleCache
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.synthetic import EPOCH

START, END = date(2024, 1, 20), date(2024, 2, 8)


def test_hourly_sections_run_on_an_hourly_cache_and_otherwise_say_how_to_fetch_it(tmp_path):
    cache = SqliteCandleCache(tmp_path / "k.sqlite", ManualClock(EPOCH))
    asyncio.run(cache.synth(40, 50, "1d", 7, lambda xs: xs))
    daily, _ = cache.source().load(START, END, 15, "USDT", opens=True, interval="1d")
    daily.warm()

    def window_cfg(**kw):
        return cfg(start=START, end=END, **kw)

    without = sections(daily, table, window_cfg, tmp_path / "k.sqlite", START, END)
    assert "| momentum, every 3d |" in without and "| reversal, every 2w |" in without
    assert fetch_command(START, tmp_path / "k.sqlite") in without and "## Latency" not in without
    asyncio.run(cache.synth(40, 50, "1h", 7, lambda xs: xs))
    found = sections(daily, table, window_cfg, tmp_path / "k.sqlite", START, END)
    for row in ("| momentum, every 4h |", "| reversal, daily at 06:00 UTC |", "| momentum, every 1d, delay 4h |"):
        assert row in found
    assert "data fetch --interval 1h" not in found
