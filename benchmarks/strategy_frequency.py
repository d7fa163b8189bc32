"""The report's rebalance period, time-of-day and latency sections (benchmarks/strategy_report.py calls them).

Periods of whole days and weeks run on the shared daily data; periods under a day, another time of day and
delays in hours need hourly candles: they run on the candle cache when it holds 1h candles for the window,
else the section says so and gives the command that fetches them.
"""
from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Callable

from tradingbot.adapters.candle_cache import CachedCandles
from tradingbot.core.backtest.panel import Panel
from tradingbot.core.errors import UserError

STRATEGIES = ("momentum", "reversal")
DAILY_PERIODS = ("1d", "2d", "3d", "1w", "2w")
HOURLY_PERIODS = ("1h", "4h", "12h", "1d", "3d", "1w")
TIMES = (time(0), time(6), time(12), time(18))
DELAYS = (0, "1h", "4h")

Table = Callable[..., tuple[str, dict]]
Config = Callable[..., object]


def fetch_command(start: date, cache: Path) -> str:
    return (f"python bot.py data fetch --interval 1h --since {start} --cache {cache}"
            f"   # then: python benchmarks/strategy_report.py --hourly-cache {cache}")


def hourly_panel(cache: Path, start: date, end: date) -> Panel | None:
    """The cache's 1h candles of the window, or None when it has none (or no cache)."""
    try:
        panel, _ = CachedCandles(cache).load(start, end, 15, "USDT", opens=True, interval="1h")
    except UserError:
        return None
    return panel.warm()


def sections(daily: Panel, table: Table, cfg: Config, cache: Path, start: date, end: date) -> str:
    """Markdown: the period table on daily data, and the hourly sections (or how to get their data)."""
    periods, _ = table(daily, [(f"{s}, every {e}", cfg(strategy=s, every=e)) for s in STRATEGIES
                               for e in DAILY_PERIODS])
    hourly = hourly_panel(cache, start, end)
    out = [f"## Rebalance period\n\nEvery whole number of days or weeks, on the daily data (slots at 00:00 UTC, "
           f"anchored on the window's first day):\n\n{periods}\n"]
    if hourly is None:
        out.append(
            "## Periods under a day, time of day and latency\n\n"
            f"These need hourly candles, and the candle cache (`{cache}`) holds none for {start} → {end}. "
            "Fetch them (Binance's public data; about 35,000 candles a symbol over four years, within the "
            "weight budget) and run this script again:\n\n"
            f"```sh\n{fetch_command(start, cache)}\n```\n\n"
            f"It then adds every {', '.join(HOURLY_PERIODS)} on hourly candles, a daily slot at "
            f"{', '.join(f'{t:%H:%M}' for t in TIMES)} UTC, and a delay of {', '.join(map(str, DELAYS))} "
            "between the signal and the fill. `bot.py data synth --interval 1h` writes synthetic hourly candles "
            "to try the commands offline; their figures say nothing about the real market.\n")
        return "\n".join(out)
    p_table, _ = table(hourly, [(f"{s}, every {e}", cfg(strategy=s, every=e)) for s in STRATEGIES
                                for e in HOURLY_PERIODS])
    t_table, _ = table(hourly, [(f"{s}, daily at {t:%H:%M} UTC", cfg(strategy=s, every="1d", at=t))
                                for s in STRATEGIES for t in TIMES])
    d_table, _ = table(hourly, [(f"{s}, every 1d, delay {d}", cfg(strategy=s, every="1d", delay=d))
                                for s in STRATEGIES for d in DELAYS])
    out += [f"## Periods under a day (hourly candles)\n\nOn the cache's 1h candles ({len(hourly.symbols)} "
            f"symbols):\n\n{p_table}\n",
            f"## Time of day (hourly candles)\n\nA daily rebalance at four times of day:\n\n{t_table}\n",
            f"## Latency (hourly candles)\n\nThe fill at the signal close (0), or at the open of the first "
            f"candle at or after signal + 1h or 4h:\n\n{d_table}\n"]
    return "\n".join(out)
