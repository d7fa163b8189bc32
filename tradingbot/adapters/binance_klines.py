"""Historical klines from Binance's public REST API into the candle cache (`bot.py data fetch`).

Thin on purpose: requests go through the same BinanceTransport as the bot's (weight budget read
back from the venue, Retry-After on 429/418, retries with backoff); this pages through each
symbol's history from where the cache's coverage ends and stores every page with its coverage in
one transaction, so a killed fetch resumes where it stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from ..app.ports import Clock
from ..core.errors import INVALID_SYMBOL, OrderRejected
from .binance_client import BinanceTransport
from .binance_market import EXCHANGE_INFO_WEIGHT, KLINES_LIMIT, KLINES_WEIGHT
from .kline_store import INTERVAL_MS, Coverage, KlineStore

PRODUCTION_DATA_URL = "https://data-api.binance.vision/api"  # Binance's public market data (no key), as the bot's


def wire_rows(symbol: str, interval: str, klines: Iterable[Sequence[Any]], now_ms: int) -> list[tuple]:
    """Binance kline arrays as klines-table rows; the still-open candle is left out."""
    return [(symbol, interval, int(k[0]), int(k[6]), str(k[1]), str(k[2]), str(k[3]), str(k[4]), str(k[5]),
             str(k[7])) for k in klines if int(k[6]) < now_ms]


@dataclass
class FetchReport:
    symbols: int = 0
    candles: int = 0
    requests: int = 0


async def usdt_symbols(transport: BinanceTransport, quote: str) -> list[str]:
    """Every spot symbol of the quote asset Binance lists (halted ones too: they have history)."""
    info = await transport.call("get_exchange_info", EXCHANGE_INFO_WEIGHT)
    return sorted(s["symbol"] for s in info["symbols"] if s.get("quoteAsset") == quote)


async def fetch_symbol(transport: BinanceTransport, store: KlineStore, symbol: str, interval: str, since_ms: int,
                       now_ms: int, report: FetchReport) -> None:
    """Page forward from the end of the cached range (or since_ms) to the last closed candle."""
    size = INTERVAL_MS[interval]
    cov = store.coverage(symbol, interval)
    start = cov.last + size if cov else since_ms
    first = cov.first if cov else None
    while start + size <= now_ms:
        try:
            page = await transport.call("get_klines", KLINES_WEIGHT, symbol=symbol, interval=interval,
                                        startTime=start, limit=KLINES_LIMIT)
        except OrderRejected as e:
            if e.code == INVALID_SYMBOL:  # not (or no longer) listed: nothing to fetch
                return
            raise
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
                    api_url: str | None, weight_per_minute: int, clock: Clock, quote: str = "USDT",
                    progress: Callable[[Iterable[str]], Iterable[str]] = lambda xs: xs) -> FetchReport:
    """Fetch every symbol (default: all of the quote's) into the cache; `progress` wraps the loop (a bar)."""
    transport = BinanceTransport("market data", api_url or PRODUCTION_DATA_URL, clock=clock,
                                 weight_budget=weight_per_minute)
    report = FetchReport()
    try:
        await transport.open()  # python-binance reads the venue's time: it decides which candle has closed
        names = list(symbols) if symbols else await usdt_symbols(transport, quote)
        now_ms = transport.server_ms()
        for symbol in progress(names):
            await fetch_symbol(transport, store, symbol, interval, since_ms, now_ms, report)
            report.symbols += 1
    finally:
        report.requests = transport.health.requests  # retries included
        await transport.close()
    return report
