"""Ports: what the engine needs from the outside world, in domain types only."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol, Sequence

from .domain import (
    Candle, EquityMark, Fill, OrderRecord, OrderRequest, OrderResult, OrderStatus, Position, Ranking, RebalanceRow,
    SymbolRules,
)
from .ledger import Ledger
from .market_caps import CoinCap


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


class ProcessLock(Protocol):
    """Keeps two processes from running rebalances on one database at the same time."""

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process holds it."""

    def release(self) -> None: ...


class Store(Protocol):
    """What the engine needs from persistence: the ledger and the rebalance journal."""

    quote: str

    def load_ledger(self) -> Ledger: ...

    def is_busy(self, error: BaseException) -> bool:
        """True when the error is another writer's lock outlasting the wait: try again later."""
        ...
    def storage_failure(self, error: BaseException) -> str | None:
        """One line when the error is the database or its disk being full: try again later."""
        ...
    def get_state(self, key: str, default: str | None = None) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...
    def get_rebalance(self, slot: str) -> RebalanceRow | None: ...
    def unfinished_rebalances(self) -> list[RebalanceRow]: ...
    def newest_journaled(self) -> tuple[str | None, datetime | None]: ...
    def start_rebalance(self, slot: str, kind: str, state: str, at: datetime, strategy: str, mode: str,
                        targets: tuple[str, ...], equity_before: Decimal, note: str = "",
                        ranking: Ranking | None = None) -> RebalanceRow: ...
    def update_rebalance(self, slot: str, **fields: object) -> None: ...
    def finish_rebalance(self, row: RebalanceRow, at: datetime, positions: list[Position], cash: Decimal,
                         mark: EquityMark, **fields: object) -> None: ...
    def add_orders(self, rebalance_id: int | None, slot: str, orders: list[OrderRecord], at: datetime) -> None: ...
    def orders_for(self, slot: str, leg: str | None = None) -> list[OrderRecord]: ...
    def set_order_status(self, client_order_id: str, status: OrderStatus, at: datetime,
                         error_code: int | None = None, error: str = "") -> None: ...
    def record_execution(self, client_order_id: str, status: OrderStatus, exchange_order_id: str,
                         fills: tuple[Fill, ...], base: str, rebalance_id: int | None, at: datetime) -> bool: ...
    def fills(self, limit: int | None = None, rebalance_id: int | None = None) -> list[Fill]: ...
    def last_mark(self) -> EquityMark | None: ...
    def last_prices(self) -> dict[str, Decimal]: ...


class Notifier(Protocol):
    """Pushes to the people watching: kinds rebalance, alert, lifecycle, daily; photos as (name, PNG) pairs."""

    async def push(self, kind: str, text: str, monospace: bool = False,
                   photos: Sequence[tuple[str, bytes]] = (), caption: str = "") -> None: ...


class MarketCaps(Protocol):
    """A market capitalisation source (CoinGecko, or the synthetic market's supply × price)."""

    name: str

    async def coins(self) -> list[CoinCap]:
        """Every coin the source ranks, largest first; VenueUnavailable when it cannot be read now."""


class CapCache(Protocol):
    """The last coins read from the source, with when; and which stale reading was already alerted."""

    def load(self) -> tuple[list[CoinCap], datetime] | None: ...
    def save(self, coins: list[CoinCap], read_at: datetime) -> None: ...
    def stale_alerted(self) -> datetime | None: ...
    def mark_stale_alerted(self, read_at: datetime) -> None: ...
