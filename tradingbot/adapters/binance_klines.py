"""Historical klines from Binance's public REST API into the candle cache (`bot.py data fetch`).

Thin on purpose: python-binance's AsyncClient does the HTTP; this pages through each symbol's
history from where the cache's coverage ends, stores every page with its coverage in one
transaction (so a killed fetch resumes where it stopped) and spends at most a weight budget a minute.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .binance_market import EXCHANGE_INFO_WEIGHT, KLINES_LIMIT, KLINES_WEIGHT
from .kline_store import INTERVAL_MS, Coverage, KlineStore


class WeightBudget:
    """At most `per_minute` request weight in any clock minute; waits for the next minute when spent."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = asyncio.sleep):
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self.window, self.used = clock() // 60, 0

    async def spend(self, weight: int) -> None:
        now = self.clock()
        if now // 60 != self.window:
            self.window, self.used = now // 60, 0
        if self.used + weight > self.per_minute:
            await self.sleep(60 - now % 60 + 0.05)
            self.window, self.used = self.clock() // 60, 0
        self.used += weight


def wire_rows(symbol: str, interval: str, klines: Iterable[Sequence[Any]], now_ms: int) -> list[tuple]:
    """Binance kline arrays as klines-table rows; the still-open candle is left out."""
    return [(symbol, interval, int(k[0]), int(k[6]), str(k[1]), str(k[2]), str(k[3]), str(k[4]), str(k[5]),
             str(k[7])) for k in klines if int(k[6]) < now_ms]


@dataclass
class FetchReport:
    symbols: int = 0
    candles: int = 0
    requests: int = 0


async def usdt_symbols(client: Any, budget: WeightBudget, quote: str) -> list[str]:
    """Every spot symbol of the quote asset Binance lists (halted ones too: they have history)."""
    await budget.spend(EXCHANGE_INFO_WEIGHT)
    info = await client.get_exchange_info()
    return sorted(s["symbol"] for s in info["symbols"] if s.get("quoteAsset") == quote)


async def fetch_symbol(client: Any, store: KlineStore, symbol: str, interval: str, since_ms: int, now_ms: int,
                       budget: WeightBudget, report: FetchReport) -> None:
    """Page forward from the end of the cached range (or since_ms) to the last closed candle."""
    size = INTERVAL_MS[interval]
    cov = store.coverage(symbol, interval)
    start = cov.last + size if cov else since_ms
    first = cov.first if cov else None
    while start + size <= now_ms:
        await budget.spend(KLINES_WEIGHT)
        page = await client.get_klines(symbol=symbol, interval=interval, startTime=start, limit=KLINES_LIMIT)
        report.requests += 1
        rows = wire_rows(symbol, interval, page, now_ms)
        if not rows:
            break
        first = rows[0][2] if first is None else first
        with store.db.atomic():
            store.add_rows(rows)
            store.set_coverage(symbol, interval, Coverage(first, rows[-1][2]))
        report.candles += len(rows)
        start = rows[-1][2] + size
        if len(page) < KLINES_LIMIT:
            break


async def fetch_all(store: KlineStore, symbols: Sequence[str] | None, interval: str, since_ms: int,
                    api_url: str | None, weight_per_minute: int, quote: str = "USDT",
                    progress: Callable[[Iterable[str]], Iterable[str]] = lambda xs: xs) -> FetchReport:
    """Fetch every symbol (default: all of the quote's) into the cache; `progress` wraps the loop (a bar)."""
    from binance import AsyncClient  # only this command needs it

    client = AsyncClient()
    if api_url:
        client.API_URL = api_url.rstrip("/")  # a mirror, or a local stand-in
    budget, report = WeightBudget(weight_per_minute), FetchReport()
    try:
        names = list(symbols) if symbols else await usdt_symbols(client, budget, quote)
        now_ms = int(time.time() * 1000)
        for symbol in progress(names):
            await fetch_symbol(client, store, symbol, interval, since_ms, now_ms, budget, report)
            report.symbols += 1
    finally:
        await client.close_connection()
    return report
