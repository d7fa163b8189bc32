"""Ports: what the engine needs from the outside world, in domain types only."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

from .domain import Candle, OrderRequest, OrderResult, SymbolRules


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""

    async def sleep(self, seconds: float) -> None:
        """Wait; a test clock advances instantly."""


class MarketData(Protocol):
    """Exchange info, candles and prices (Binance public endpoints, or the synthetic market)."""

    async def symbols(self) -> list[SymbolRules]:
        """Every listed symbol with its status and filters (delisted ones absent or not TRADING)."""

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """Candles with open_time in [start, end], oldest first; the last one may still be open."""

    async def prices(self) -> dict[str, Decimal]:
        """Latest traded price of every symbol trading now (a halted/BREAK symbol has none)."""

    async def first_candle_time(self, symbol: str) -> datetime | None:
        """Open time of the symbol's first candle ever (its listing); None if unknown or not listed yet."""


class Exchange(Protocol):
    """A venue that takes market orders: the paper venue or Binance."""

    name: str

    async def balances(self) -> dict[str, Decimal]:
        """Free balance per asset (zero balances may be absent)."""

    async def place_market_order(self, order: OrderRequest) -> OrderResult:
        """Execute now; raise OrderRejected for business rejections, VenueUnavailable for transient ones."""

    async def find_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by client order id (None if the venue never received it)."""
