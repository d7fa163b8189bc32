"""MarketData from Binance's public endpoints (production by default; no keys needed).

Exchange info is read at most once per SYMBOLS_TTL, prices come from the live stream when it is
fresh and from one bulk ticker request otherwise, so a rebalance costs a handful of requests
rather than one per order. Candles go through CachedMarketData in front of this class.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ..core.book_walk import BookLevel, OrderBook, depth_weight
from ..core.domain import Candle, SymbolRules
from ..core.errors import INVALID_SYMBOL, OrderRejected
from ..app.ports import Clock
from . import binance_parse as wire
from .binance_client import BinanceTransport
from .kline_store import INTERVAL_MS, from_ms, to_ms

KLINES_WEIGHT, EXCHANGE_INFO_WEIGHT, ALL_PRICES_WEIGHT = 2, 20, 4
KLINES_LIMIT = 1000
SYMBOLS_TTL = timedelta(seconds=30)
PRICES_TTL = timedelta(seconds=2)
STREAM_FRESH = timedelta(seconds=10)  # older stream prices fall back to REST


@dataclass
class LivePrices:
    """Last prices pushed by the miniTicker stream, with when each batch arrived (our clock)."""

    prices: dict[str, Decimal] = field(default_factory=dict)
    updated: datetime | None = None
    connected: bool = False


class BinanceMarketData:
    """Implements MarketData (without the cache) over a public BinanceTransport."""

    def __init__(self, transport: BinanceTransport, clock: Clock, live: LivePrices | None = None):
        self.transport, self.clock = transport, clock
        self.live = live if live is not None else LivePrices()
        self._rules: tuple[datetime, list[SymbolRules]] | None = None
        self._rest_prices: tuple[datetime, dict[str, Decimal]] | None = None
        # Orders go out together and each reads rules and prices: one request refreshes them for all
        self._rules_lock, self._prices_lock = asyncio.Lock(), asyncio.Lock()

    async def symbols(self) -> list[SymbolRules]:
        async with self._rules_lock:
            now = self.clock.now()
            if self._rules is None or now - self._rules[0] >= SYMBOLS_TTL:
                info = await self.transport.call("get_exchange_info", EXCHANGE_INFO_WEIGHT)
                self._rules = (now, [wire.symbol_rules(s) for s in info["symbols"]])
            return list(self._rules[1])

    async def prices(self) -> dict[str, Decimal]:
        """Last price of every TRADING symbol: the stream's if fresh, else one bulk REST request."""
        now = self.clock.now()
        if self.live.connected and self.live.updated is not None and now - self.live.updated < STREAM_FRESH:
            rules, source = await self.symbols(), self.live.prices
        else:  # the rules and the prices in one round trip
            # Both finish before a failure is raised: a request left running would be cancelled at exit while
            # python-binance opens its client, which then never closes its HTTP session.
            got_rules, got_prices = await asyncio.gather(self.symbols(), self._rest_prices_at(now),
                                                         return_exceptions=True)
            if isinstance(got_rules, BaseException):
                raise got_rules
            if isinstance(got_prices, BaseException):
                raise got_prices
            rules, source = got_rules, got_prices
        trading = {r.symbol for r in rules if r.trading}
        return {s: p for s, p in source.items() if s in trading and p > 0}

    async def _rest_prices_at(self, now: datetime) -> dict[str, Decimal]:
        async with self._prices_lock:
            if self._rest_prices is None or now - self._rest_prices[0] >= PRICES_TTL:
                rows = await self.transport.call("get_all_tickers", ALL_PRICES_WEIGHT)
                self._rest_prices = (now, {r["symbol"]: Decimal(r["price"]) for r in rows})
            return self._rest_prices[1]

    async def order_book(self, symbol: str, limit: int) -> OrderBook:
        """GET /api/v3/depth: `limit` levels a side, weighed by limit as Binance counts it."""
        raw = await self.transport.call("get_order_book", depth_weight(limit), symbol=symbol, limit=limit)

        def side(rows: list[list[str]]) -> tuple[BookLevel, ...]:
            return tuple(BookLevel(Decimal(price), Decimal(qty)) for price, qty in rows)
        return OrderBook(symbol, side(raw["bids"]), side(raw["asks"]), limit)

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """Candles with open time in [start, end], paging 1000 at a time; an unknown symbol has none."""
        out: list[Candle] = []
        first, last = to_ms(start), to_ms(end)
        while first <= last:
            try:
                rows = await self.transport.call("get_klines", KLINES_WEIGHT, symbol=symbol, interval=interval,
                                                 startTime=first, endTime=last, limit=KLINES_LIMIT)
            except OrderRejected as e:
                if e.code == INVALID_SYMBOL:  # delisted and gone from the venue
                    return out
                raise
            out += [wire.candle(k) for k in rows]
            if len(rows) < KLINES_LIMIT:
                break
            first = int(rows[-1][0]) + INTERVAL_MS.get(interval, 1)
        return out

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        """Open time of the symbol's first hourly candle (Binance answers startTime=0 with the oldest)."""
        try:
            rows = await self.transport.call("get_klines", KLINES_WEIGHT, symbol=symbol, interval="1h",
                                             startTime=0, limit=1)
        except OrderRejected as e:
            if e.code == INVALID_SYMBOL:
                return None
            raise
        return from_ms(int(rows[0][0])) if rows else None
