"""The records of the local Binance's accounts: orders as parsed, orders as executed, and their trades.

Plain data that the matching engine writes and the JSON shapes read, so neither module needs the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradingbot.core.domain import Side


@dataclass(frozen=True)
class MarketOrder:
    """A parsed POST /order: exactly one of quantity and quote_qty is set."""

    symbol: str
    side: Side
    quantity: Decimal | None
    quote_qty: Decimal | None
    client_order_id: str


@dataclass(frozen=True)
class SimTrade:
    """One fill of an order, as myTrades and FULL responses show it."""

    id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass
class SimOrder:
    """An order the server accepted; market orders end FILLED, or EXPIRED when the book ran out."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    status: str
    orig_qty: Decimal
    orig_quote_qty: Decimal | None
    time_ms: int
    trades: list[SimTrade] = field(default_factory=list)

    @property
    def executed_qty(self) -> Decimal:
        return sum((t.qty for t in self.trades), Decimal(0))

    @property
    def cumulative_quote(self) -> Decimal:
        return sum((t.quote_qty for t in self.trades), Decimal(0))

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass
class Account:
    api_key: str
    api_secret: str
    balances: dict[str, Decimal]
    orders: list[SimOrder] = field(default_factory=list)
