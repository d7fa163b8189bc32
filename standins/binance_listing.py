"""What the local Binance lists: its symbols (all, or a chosen few) with their statuses, their market data at the
clock's now, and each symbol's order book around its price."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.core.domain import Candle, SymbolRules
from .binance_book import LEVELS, Book, book_of
from .binance_json import DayStats, ms
from .binance_quotes import QuotePairs


class Listing:
    """The symbols this server lists, their statuses, and market data at the clock's now."""

    def __init__(self, market: SyntheticMarket, listed: set[str] | None = None, quotes: QuotePairs | None = None):
        self.market, self.listed, self.quotes = market, listed, quotes  # quotes: pairs in other quotes, if any
        self.status: dict[str, str] = {}  # fault overrides: BREAK, HALT or TRADING
        self._days: tuple[int, dict[str, DayStats]] = (-1, {})

    async def rules(self) -> dict[str, SymbolRules]:
        """Every listed symbol by name, with any status override applied."""
        market = await self.market.symbols()
        every = market + self.quotes.listed(market) if self.quotes is not None else market
        return {r.symbol: self._overridden(r) for r in every if self.listed is None or r.symbol in self.listed}

    async def rule(self, symbol: str) -> SymbolRules | None:
        """One listed symbol, as rules() has it (None if not listed): a request about one symbol (klines,
        an order) costs the same whether the server lists a hundred symbols or Binance's few thousand."""
        if self.listed is not None and symbol not in self.listed:
            return None
        r = await self.market.symbol(symbol)
        if r is None and self.quotes is not None:
            r = await self._quote_pair(symbol)
        return None if r is None else self._overridden(r)

    async def _quote_pair(self, symbol: str) -> SymbolRules | None:
        """A pair in another quote, found through the market symbol it follows (ETHBTC: ETHUSDT)."""
        assert self.quotes is not None
        if self.quotes.density is None:  # drawn from the first full listing
            await self.rules()
        for name, _ in self.quotes.followed_by(symbol):
            followed = await self.market.symbol(name)
            found = self.quotes.pair(symbol, followed) if followed is not None else None
            if found is not None:
                return found
        return None

    async def first_candle_time(self, symbol: str) -> datetime | None:
        """When the symbol's first candle opened (a pair in another quote: the one it follows)."""
        pair = self.quotes.find(symbol) if self.quotes is not None else None
        return await self.market.first_candle_time(pair.follows if pair is not None else symbol)

    def _overridden(self, r: SymbolRules) -> SymbolRules:
        return replace(r, status=self.status[r.symbol]) if r.symbol in self.status else r

    async def prices(self) -> dict[str, Decimal]:
        """Current price of every listed symbol the synthetic market still trades."""
        prices = await self.market.prices()
        if self.quotes is not None:
            prices.update(self.quotes.prices(prices))
        return {s: p for s, p in prices.items() if self.listed is None or s in self.listed}

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """The synthetic market's candles with open time in [start, end] (a pair in another quote: converted)."""
        pair = self.quotes.find(symbol) if self.quotes is not None else None
        if pair is None:
            return await self.market.candles(symbol, interval, start, end)
        return QuotePairs.candles(pair, await self.market.candles(pair.follows, interval, start, end))

    async def day(self, symbol: str, now: datetime) -> DayStats:
        """The rolling 24 hours of one symbol; remembered for the instant, since streams ask for all at once."""
        if self._days[0] != ms(now):
            self._days = (ms(now), {})
        days = self._days[1]
        if symbol not in days:
            days[symbol] = DayStats.of(await self.candles(symbol, "1h", now - timedelta(days=1), now))
        return days[symbol]

    async def book(self, rules: SymbolRules, mid: Decimal, now: datetime, levels: int = LEVELS) -> Book:
        """The symbol's book around mid, each level as deep as a share of its last 24 hours' quote volume."""
        return book_of(rules, mid, (await self.day(rules.symbol, now)).quote_volume, levels)
