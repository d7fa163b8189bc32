"""Fakes of the ports for engine tests: they record and misbehave on purpose (no mock.patch)."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from tests.builders import rules
from tradingbot.core.domain import Candle, OrderRequest, OrderResult, OrderStatus, SymbolRules
from tradingbot.core.errors import INVALID_SYMBOL, NEW_ORDER_REJECTED, OrderRejected, VenueUnavailable

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


class ScriptedMarket:
    """Every symbol's price is a function of time given by the test: price(symbol, t)."""

    def __init__(self, clock, prices: dict[str, callable], listed: datetime, volume: Decimal = Decimal(10**8)):
        self.clock = clock
        self.price_fns = prices
        self.listed = listed
        self.volume = volume
        self.rules: dict[str, SymbolRules] = {s: rules(s) for s in prices}
        self.down_until: datetime | None = None  # every call fails as unreachable before this time
        self.calls_refused = 0
        self.delisted: set[str] = set()

    def _reachable(self) -> None:
        if self.down_until is not None and self.clock.now() < self.down_until:
            self.calls_refused += 1
            raise VenueUnavailable("market data: connection refused")

    def price(self, symbol: str, t: datetime) -> Decimal:
        return Decimal(str(round(self.price_fns[symbol](t), 6)))

    async def symbols(self) -> list[SymbolRules]:
        self._reachable()
        return list(self.rules.values())

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        self._reachable()
        return self.listed if symbol in self.rules else None

    async def prices(self) -> dict[str, Decimal]:
        self._reachable()
        now = self.clock.now()
        return {s: self.price(s, now) for s, r in self.rules.items() if r.trading}

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        self._reachable()
        if symbol in self.delisted:
            raise OrderRejected(INVALID_SYMBOL, "Invalid symbol.")  # Binance's answer for a delisted pair
        step = {"1h": HOUR, "1d": DAY}[interval]
        now = self.clock.now()
        out, t = [], start
        while t <= end and t <= now:
            close_time = t + step - timedelta(milliseconds=1)
            close = self.price(symbol, min(close_time + timedelta(milliseconds=1), now))
            out.append(Candle(t, close_time, close, close, close, close, Decimal(1), self.volume))
            t += step
        return out

    def halt(self, symbol: str, status: str = "BREAK") -> None:
        """Set a symbol's status (TRADING lifts a halt)."""
        self.rules[symbol] = replace(self.rules[symbol], status=status)

    def delist(self, symbol: str) -> None:
        """Gone from exchangeInfo, prices and klines, as after a Binance delisting."""
        del self.rules[symbol]
        self.delisted.add(symbol)


class FaultyExchange:
    """Wraps a real venue; can lose responses after the order executed, be down for n calls, refuse or part-fill."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.sent: list[str] = []
        self.lose_response_of: set[str] = set()  # symbols whose next order executes but the answer is lost
        self.lose_next = 0  # the next n orders execute but their answers are lost
        self.down_for = 0  # the next n place/find calls fail as unreachable
        self.lookups_down = 0  # the next n lookups fail as unreachable (orders still go through)
        self.lookups_down_after_loss = 0  # set lookups_down to this when a response is lost
        self.crash_after: int | None = None  # raise SystemExit after this many executed orders
        self.reject_next = 0  # the next n orders are refused for want of balance, nothing executed
        self.partial_next: Decimal | None = None  # the next order fills only this fraction, then expires
        self.met: Counter[str] = Counter()  # faults that actually struck, by kind

    async def balances(self):
        return await self.inner.balances()

    async def place_market_order(self, order: OrderRequest) -> OrderResult:
        if self.down_for > 0:
            self.down_for -= 1
            self.met["venue down"] += 1
            raise VenueUnavailable("connection refused")
        if self.reject_next > 0:
            self.reject_next -= 1
            self.met["insufficient balance"] += 1
            raise OrderRejected(NEW_ORDER_REJECTED, "Account has insufficient balance for requested action.")
        fraction, self.partial_next = self.partial_next, None
        self.sent.append(order.client_order_id)
        result = await self.inner.place_market_order(_part_of(order, fraction) if fraction else order)
        if fraction:
            self.met["partial fill"] += 1
            result = replace(result, status=OrderStatus.PARTIAL)
        if order.symbol in self.lose_response_of or self.lose_next > 0:
            self.lose_response_of.discard(order.symbol)
            self.lose_next = max(0, self.lose_next - 1)
            self.lookups_down = self.lookups_down_after_loss
            self.met["response lost"] += 1
            raise VenueUnavailable("read timeout")
        if self.crash_after is not None and len(self.sent) >= self.crash_after:
            self.met["killed after a fill"] += 1
            raise SystemExit("killed between the venue's fill and the ledger write")
        return result

    async def convert_dust(self, orders):
        return await self.inner.convert_dust(orders)

    async def find_order(self, symbol: str, client_order_id: str):
        if self.down_for > 0 or self.lookups_down > 0:
            self.down_for, self.lookups_down = max(0, self.down_for - 1), max(0, self.lookups_down - 1)
            self.met["lookup down"] += 1
            raise VenueUnavailable("connection refused")
        return await self.inner.find_order(symbol, client_order_id)


def _part_of(order: OrderRequest, fraction: Decimal) -> OrderRequest:
    """The share of a market order a thin book fills (on the 0.001 lot step, or to 8 decimals of quote)."""
    if order.quantity is not None:
        return replace(order, quantity=(order.quantity * fraction).quantize(Decimal("0.001"), ROUND_DOWN))
    return replace(order, quote_amount=(order.quote_amount * fraction).quantize(Decimal("1E-8"), ROUND_DOWN))
