"""The synthetic market's candles written into the candle cache, so backtests of any interval run offline."""
from __future__ import annotations

from datetime import timedelta
from typing import Callable, Iterable

from .clock import ManualClock
from .kline_store import INTERVAL_MS, Coverage, KlineStore, to_ms
from .synthetic import EPOCH, SyntheticMarket


async def write_synthetic(store: KlineStore, days: int, n_symbols: int, interval: str, seed: int,
                          progress: Callable[[Iterable[str]], Iterable[str]] = lambda xs: xs) -> tuple[int, int]:
    """Every closed candle of the interval over the market's first `days` days (from 2024-01-01), each symbol
    with its coverage in one transaction; returns (symbols, candles). The same market as `--demo` with that
    seed, so the cache and the live demo agree candle for candle."""
    if interval not in INTERVAL_MS:
        raise ValueError(f"interval must be one of {', '.join(INTERVAL_MS)} (got {interval})")
    end = EPOCH + timedelta(days=days)
    market = SyntheticMarket(ManualClock(end), seed=seed, n_symbols=n_symbols)
    listed = {r.symbol: r for r in await market.symbols()}
    written = 0
    for symbol in progress(sorted(listed)):
        candles = [c for c in await market.candles(symbol, interval, EPOCH, end) if c.close_time < end]
        if candles:
            store.put(symbol, interval, candles, Coverage(to_ms(candles[0].open_time), to_ms(candles[-1].open_time)))
            written += len(candles)
    return len(listed), written
