"""Ranking on production data, trading on another venue (Spot Testnet or Demo Mode).

Testnet prices are unrelated to the market, so the strategy ranks on production candles; but the
filters, the list of tradable symbols and the prices fills happen at are the trading venue's.
A production symbol the venue does not list stays in the ranking table with the reason
"status NOT_ON_<VENUE>", so the manager sees what was skipped and why.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from ..core.domain import Candle, SymbolRules
from ..app.ports import MarketData

log = logging.getLogger(__name__)


class VenueMarket:
    """MarketData: candles and listings from `data`, rules and prices from `venue`."""

    def __init__(self, data: MarketData, venue: MarketData, venue_name: str):
        self.data, self.venue = data, venue
        self.missing_status = f"NOT_ON_{venue_name.upper()}"

    async def symbols(self) -> list[SymbolRules]:
        venue_rules, data_rules = await asyncio.gather(self.venue.symbols(), self.data.symbols())  # one round trip
        listed = {r.symbol: r for r in venue_rules}
        out = []
        for r in data_rules:
            there = listed.get(r.symbol)
            if there is None:
                out.append(replace(r, status=self.missing_status))
            else:  # trade only what trades on both; the venue's filters decide the order sizes
                out.append(there if r.trading else replace(there, status=r.status))
        return out

    async def prices(self) -> dict[str, Decimal]:
        # A rebalance values the account, then ranks: the ranking's listing (cached for a while) is read
        # in the same round trip as the prices rather than in one of its own after them. Its failure is
        # not the prices' (valuing the account needs only the venue); the ranking will ask again.
        prices, listing = await asyncio.gather(self.venue.prices(), self.data.symbols(), return_exceptions=True)
        if isinstance(prices, BaseException):
            raise prices
        if isinstance(listing, BaseException):
            log.warning("market data listing not refreshed with the prices: %s", listing)
        return prices

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        return await self.data.candles(symbol, interval, start, end)

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        return await self.data.first_candle_time(symbol, listed_by)
