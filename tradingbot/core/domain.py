"""Domain types shared by the pure core, the services and the adapters.

Money and quantities are Decimal; times are timezone-aware UTC datetimes.
Nothing here does I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Iterable, Mapping

ZERO = Decimal(0)
QUOTE_UNIT = Decimal("0.00000001")  # Binance amounts carry at most 8 decimals
CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")  # what Binance accepts as newClientOrderId


class Side(str, Enum):
    BUY = "BUY"
    SELL = "SELL"


@dataclass(frozen=True)
class SymbolRules:
    """One tradable pair and the exchange filters that apply to a market order on it."""

    symbol: str
    base: str
    quote: str
    status: str  # TRADING | HALT | BREAK, as Binance reports it
    step_size: Decimal  # LOT_SIZE.stepSize
    min_qty: Decimal  # LOT_SIZE.minQty
    max_qty: Decimal  # LOT_SIZE.maxQty (0 = unlimited)
    min_notional: Decimal  # NOTIONAL / MIN_NOTIONAL minNotional
    tick_size: Decimal = Decimal("0.00000001")

    @property
    def trading(self) -> bool:
        return self.status == "TRADING"


@dataclass(frozen=True)
class Candle:
    """A closed or still-open candle; close_time = open_time + interval - 1 ms, as on Binance."""

    open_time: datetime
    close_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base asset
    quote_volume: Decimal  # quote asset

    def is_closed(self, now: datetime) -> bool:
        return self.close_time < now


@dataclass(frozen=True)
class OrderRequest:
    """A market order as the engine asks for it: a sell by quantity or a buy by quote amount."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal | None = None  # base quantity (sells; buys when no quote amount)
    quote_amount: Decimal | None = None  # quote to spend (buys, Binance quoteOrderQty)


@dataclass(frozen=True)
class Fill:
    """One execution; commission is charged in commission_asset, fee_quote is its value in quote."""

    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    fee_quote: Decimal
    time: datetime
    trade_id: str = ""
    priced_by: str = ""  # the paper venue's model: 'book' (walked the venue's book) or 'flat' (price + slippage)

    @property
    def quote_quantity(self) -> Decimal:
        return self.price * self.quantity


class OrderStatus(str, Enum):
    PLANNED = "planned"  # in the journal, not sent yet
    SENDING = "sending"  # handed to the venue; outcome unknown until it answers or is looked up
    FILLED = "filled"
    PARTIAL = "partially_filled"  # EXPIRED with some fills (Binance market order out of liquidity)
    REJECTED = "rejected"  # a business rejection, reported once, never retried
    SKIPPED = "skipped"  # below a filter; never sent


@dataclass(frozen=True)
class OrderResult:
    """What the venue says happened to an order."""

    client_order_id: str
    symbol: str
    side: Side
    status: OrderStatus
    exchange_order_id: str
    fills: tuple[Fill, ...] = ()
    send_mid: Decimal | None = None  # the mid price when the venue took the order (None: not known)
    send_touch: Decimal | None = None  # the best quote the order met then: the best ask for a buy, bid for a sell

    @property
    def executed_qty(self) -> Decimal:
        return sum((f.quantity for f in self.fills), ZERO)


@dataclass(frozen=True)
class SymbolSnapshot:
    """What ranking needs to know of one symbol at one instant, built from closed candles only."""

    rules: SymbolRules
    first_open_time: datetime | None  # first candle ever listed
    close_now: Decimal | None  # close of the last closed candle
    close_then: Decimal | None  # close of the closed candle ending at now - lookback
    mean_daily_quote_volume: Decimal  # over the last 7 days of closed candles


@dataclass(frozen=True)
class RankRow:
    symbol: str
    score: Decimal | None
    quote_volume: Decimal
    eligible: bool
    reason: str  # why not eligible; "" when eligible
    selected: bool = False
    rank: int | None = None  # 1 = first pick


@dataclass(frozen=True)
class Ranking:
    """The full ranked table: eligible rows in pick order first, then the rest by symbol."""

    at: datetime
    strategy: str
    lookback: timedelta
    topn: int
    rows: tuple[RankRow, ...]

    @property
    def selected(self) -> tuple[str, ...]:
        return tuple(r.symbol for r in self.rows if r.selected)

    @property
    def eligible_count(self) -> int:
        return sum(1 for r in self.rows if r.eligible)


@dataclass(frozen=True)
class PlannedOrder:
    symbol: str
    side: Side
    quantity: Decimal  # rounded down to the step size
    quote_amount: Decimal | None  # buys: quote to spend
    est_price: Decimal
    est_fee_quote: Decimal

    @property
    def est_notional(self) -> Decimal:
        return self.quantity * self.est_price


@dataclass(frozen=True)
class SkippedOrder:
    """An order the plan could not place (below a filter); the dust stays visible in the inventory."""

    symbol: str
    side: Side
    quantity: Decimal
    est_notional: Decimal
    reason: str


@dataclass(frozen=True)
class Plan:
    orders: tuple[PlannedOrder, ...]
    skipped: tuple[SkippedOrder, ...] = ()

    @property
    def est_fees(self) -> Decimal:
        return sum((o.est_fee_quote for o in self.orders), ZERO)


@dataclass(frozen=True)
class Position:
    """One asset held, valued at a price, with average-cost P/L."""

    asset: str
    quantity: Decimal
    cost: Decimal  # quote spent on what is still held, buy fees included
    realized: Decimal  # realized P/L on this asset, fees included
    fees: Decimal  # all fees paid trading this asset, in quote
    price: Decimal | None = None
    dust: bool = False  # cannot be sold at this price (planning.is_dust); set where the venue's rules are known

    @property
    def avg_cost(self) -> Decimal | None:
        return self.cost / self.quantity if self.quantity else None

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price if self.price is not None else ZERO

    @property
    def unrealized(self) -> Decimal:
        """Value less cost; an asset with no price at all counts at zero value, so the loss shows."""
        return self.value - self.cost


@dataclass(frozen=True)
class DustTotal:
    """The holdings that cannot be sold, counted apart from the positions everywhere they are shown."""

    count: int
    value: Decimal

    @classmethod
    def of(cls, positions: Iterable[Position]) -> DustTotal:
        dust = [p for p in positions if p.dust]
        return cls(len(dust), sum((p.value for p in dust), ZERO))

    def describe(self, quote: str) -> str:
        """'dust: 32 coins ≈ 1.23 USDT' (one wording for every reply and chart)."""
        amount = f"{self.value:,.2f}" if self.value >= Decimal("0.01") or not self.value else "< 0.01"
        return f"dust: {self.count} coin{'' if self.count == 1 else 's'} ≈ {amount} {quote}"


@dataclass(frozen=True)
class InventorySnapshot:
    """What the account held at one time: value per asset (cash as the quote asset), dust apart."""

    time: datetime
    values: dict[str, Decimal]  # asset -> value in quote; dust excluded
    dust: DustTotal = DustTotal(0, ZERO)
    live: bool = False  # valued now, not recorded at a rebalance

    @classmethod
    def of(cls, time: datetime, positions: Iterable[Position], live: bool = False) -> InventorySnapshot:
        held = list(positions)
        return cls(time, {p.asset: p.value for p in held if not p.dust}, DustTotal.of(held), live)


@dataclass(frozen=True)
class EquityMark:
    time: datetime
    equity: Decimal
    cash: Decimal
    positions_value: Decimal
    source: str = "periodic"  # periodic | rebalance | start


@dataclass(frozen=True)
class Change:
    key: str
    old: str
    new: str


@dataclass(frozen=True)
class OrderRecord:
    """An order as the journal knows it: planned, being sent, or settled."""

    client_order_id: str
    rebalance_id: int | None  # None: a dust conversion, not part of a rebalance
    slot: str
    leg: str  # S (sell), B (buy) or D (dust conversion)
    symbol: str
    side: Side
    requested_qty: Decimal | None
    requested_quote: Decimal | None
    status: OrderStatus
    error_code: int | None = None
    error: str = ""
    signal_mid: Decimal | None = None  # the symbol's last price when the ranking chose the trade
    send_mid: Decimal | None = None  # the mid when the venue took it (from OrderResult)
    send_touch: Decimal | None = None  # the best quote it met then
    avg_price: Decimal | None = None  # its fills' volume-weighted price


@dataclass(frozen=True)
class RebalanceRow:
    """The journal entry of one slot."""

    id: int
    slot: str
    kind: str  # scheduled | manual | liquidate
    state: str  # selling | buying | done | skipped | abandoned | failed
    started_at: datetime
    finished_at: datetime | None
    strategy: str
    mode: str
    targets: tuple[str, ...]
    equity_before: Decimal
    equity_after: Decimal | None
    turnover: Decimal
    fees: Decimal
    signal_to_fill_ms: float | None
    note: str
    signal_prices: Mapping[str, Decimal] = field(default_factory=dict)  # last prices at ranking time, by symbol


@dataclass(frozen=True)
class RebalanceSummary:
    """The typed result of one rebalance (its journal row and what it did), for replies, pushes and --json."""

    row: RebalanceRow
    equity_after: Decimal  # the row's, or equity now while the slot is unfinished
    orders: tuple[OrderRecord, ...] = ()
    fills: tuple[Fill, ...] = ()
    skipped: tuple[SkippedOrder, ...] = ()
    errors: tuple[str, ...] = ()
    positions: tuple[Position, ...] = ()
    already_done: bool = False

    @property
    def slot(self) -> str:
        return self.row.slot

    @property
    def state(self) -> str:
        return self.row.state

    @property
    def targets(self) -> tuple[str, ...]:
        return self.row.targets


@dataclass
class VenueHealth:
    """What /status shows about a Binance endpoint (mutable: the transport updates it as it goes)."""

    name: str
    budget: int
    host: str = ""  # host[:port] the requests really go to (never userinfo)
    used_weight: int = 0
    reachable: bool | None = None  # None: not asked yet
    last_error: str = ""
    requests: int = 0
    weight_spent: int = 0  # total weight this process has used (benchmarks read it)
    waits: list[float] = field(default_factory=list)
