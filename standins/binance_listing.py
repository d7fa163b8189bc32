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


class Listing:
    """The symbols this server lists, their statuses, and market data at the clock's now."""

    def __init__(self, market: SyntheticMarket, listed: set[str] | None = None):
        self.market, self.listed = market, listed
        self.status: dict[str, str] = {}  # fault overrides: BREAK, HALT or TRADING
        self._days: tuple[int, dict[str, DayStats]] = (-1, {})

    async def rules(self) -> dict[str, SymbolRules]:
        """Every listed symbol by name, with any status override applied."""
        return {r.symbol: self._overridden(r) for r in await self.market.symbols()
                if self.listed is None or r.symbol in self.listed}

    async def rule(self, symbol: str) -> SymbolRules | None:
        """One listed symbol, as rules() has it (None if not listed): a request about one symbol (klines,
        an order) costs the same whether the server lists a hundred symbols or Binance's few thousand."""
        if self.listed is not None and symbol not in self.listed:
            return None
        r = await self.market.symbol(symbol)
        return None if r is None else self._overridden(r)

    def _overridden(self, r: SymbolRules) -> SymbolRules:
        return replace(r, status=self.status[r.symbol]) if r.symbol in self.status else r

    async def prices(self) -> dict[str, Decimal]:
        """Current price of every listed symbol the synthetic market still trades."""
        return {s: p for s, p in (await self.market.prices()).items() if self.listed is None or s in self.listed}

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """The synthetic market's candles with open time in [start, end]."""
        return await self.market.candles(symbol, interval, start, end)

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
