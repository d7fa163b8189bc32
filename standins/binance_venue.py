"""The local Binance's exchange, in memory: what it lists, its accounts, and how market orders fill.

Fills use the paper venue's own arithmetic (tick rounding, quoteOrderQty sizing, LOT_SIZE/NOTIONAL checks,
commission in the asset received), so a bot sees the same numbers from both venues.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from tradingbot.adapters.paper import buy_quantity, check_filters, commission, fill_price
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.core.domain import QUOTE_UNIT, ZERO, Candle, Side, SymbolRules
from tradingbot.core.errors import NEW_ORDER_REJECTED, OrderRejected
from tradingbot.core.money import floor_to_step
from .binance_json import DayStats, ms

BNB_DISCOUNT = Decimal("0.75")  # paying commission in BNB costs 25% less
NO_FUNDS = "Account has insufficient balance for requested action."
_PREC = 60  # as in the paper venue: no product or sum of Binance-sized amounts is ever rounded
_SPLIT = ((Decimal(5000), (Decimal("0.5"), Decimal("0.3"))), (Decimal(500), (Decimal("0.6"),)))  # value -> shares


class Listing:
    """The symbols this server lists (all, or a chosen few), their statuses, and market data at the clock's now."""

    def __init__(self, market: SyntheticMarket, listed: set[str] | None = None):
        self.market, self.listed = market, listed
        self.status: dict[str, str] = {}  # fault overrides: BREAK, HALT or TRADING
        self._days: tuple[int, dict[str, DayStats]] = (-1, {})

    async def rules(self) -> dict[str, SymbolRules]:
        """Every listed symbol by name, with any status override applied."""
        out = {}
        for r in await self.market.symbols():
            if self.listed is None or r.symbol in self.listed:
                out[r.symbol] = replace(r, status=self.status[r.symbol]) if r.symbol in self.status else r
        return out

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
        return sum((t.qty for t in self.trades), ZERO)

    @property
    def cumulative_quote(self) -> Decimal:
        return sum((t.quote_qty for t in self.trades), ZERO)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass
class Account:
    api_key: str
    api_secret: str
    balances: dict[str, Decimal]
    orders: list[SimOrder] = field(default_factory=list)


@dataclass(frozen=True)
class MarketOrder:
    """A parsed POST /order: exactly one of quantity and quote_qty is set."""

    symbol: str
    side: Side
    quantity: Decimal | None
    quote_qty: Decimal | None
    client_order_id: str


@dataclass(frozen=True)
class Execution:
    """How one order meets the book: a fraction filled before it expires, BNB's price when fees go in BNB."""

    fraction: Decimal | None = None
    bnb_price: Decimal | None = None


class MatchingEngine:
    """Accounts and their orders; ids are sequential across the venue, like Binance's."""

    def __init__(self, fee_rate: Decimal):
        self.fee_rate = fee_rate
        self.accounts: dict[str, Account] = {}
        self._order_ids, self._trade_ids = itertools.count(1), itertools.count(1)

    def add_account(self, api_key: str, api_secret: str, balances: dict[str, Decimal]) -> None:
        """Create or replace an account; its orders start empty."""
        self.accounts[api_key] = Account(api_key, api_secret, {a: Decimal(v) for a, v in balances.items()})

    def size(self, order: MarketOrder, rules: SymbolRules, price: Decimal) -> tuple[Decimal, Decimal]:
        """Fill price and base quantity of an order, after the LOT_SIZE and NOTIONAL checks."""
        with localcontext(prec=_PREC):
            at = fill_price(price, order.side, rules, ZERO)
            if order.quote_qty is not None:  # the largest lot whose value stays within the amount, either side
                qty = buy_quantity(order.quote_qty, at, rules.step_size)
            else:
                assert order.quantity is not None
                qty = order.quantity
            check_filters(qty, price, rules)
        return at, qty

    def place(self, account: Account, order: MarketOrder, rules: SymbolRules, price: Decimal, now_ms: int,
              how: Execution = Execution()) -> SimOrder:
        """Match a market order now, or raise OrderRejected changing nothing."""
        if any(o.is_open and o.client_order_id == order.client_order_id for o in account.orders):
            raise OrderRejected(NEW_ORDER_REJECTED, "Duplicate order sent.")  # only open orders are unique
        at, qty = self.size(order, rules, price)
        with localcontext(prec=_PREC):
            self._check_funds(account, order, rules, qty, at)
            done = qty if how.fraction is None else floor_to_step(qty * how.fraction, rules.step_size or QUOTE_UNIT)
            placed = SimOrder(next(self._order_ids), order.client_order_id, order.symbol, order.side,
                              "FILLED" if done == qty else "EXPIRED", qty, order.quote_qty, now_ms)
            for part in _parts(done, at, rules.step_size or QUOTE_UNIT):
                placed.trades.append(self._fill(account, placed, rules, part, at, how.bnb_price))
        account.orders.append(placed)
        return placed

    def _check_funds(self, account: Account, order: MarketOrder, rules: SymbolRules, qty: Decimal,
                     at: Decimal) -> None:
        """A shortfall rejects the whole order, as Binance does; a quoteOrderQty buy must be covered in full."""
        if order.side is Side.BUY:
            needed, asset = (order.quote_qty if order.quote_qty is not None else qty * at), rules.quote
        else:
            needed, asset = qty, rules.base
        if account.balances.get(asset, ZERO) < needed:
            raise OrderRejected(NEW_ORDER_REJECTED, NO_FUNDS)

    def _fill(self, account: Account, placed: SimOrder, rules: SymbolRules, qty: Decimal, at: Decimal,
              bnb_price: Decimal | None) -> SimTrade:
        """One trade: move the assets and charge commission in the asset received, or in BNB when enabled."""
        value = qty * at
        buy = placed.side is Side.BUY
        fee, asset = self._fee(account, rules, qty, value, buy, bnb_price)
        changes = {rules.base: qty if buy else -qty, rules.quote: -value if buy else value}
        changes[asset] = changes.get(asset, ZERO) - fee
        for a, delta in changes.items():
            account.balances[a] = account.balances.get(a, ZERO) + delta
        return SimTrade(next(self._trade_ids), placed.order_id, placed.symbol, placed.side, at, qty, fee, asset,
                        placed.time_ms)

    def _fee(self, account: Account, rules: SymbolRules, qty: Decimal, value: Decimal, buy: bool,
             bnb_price: Decimal | None) -> tuple[Decimal, str]:
        if bnb_price:
            fee = commission(value / bnb_price, self.fee_rate * BNB_DISCOUNT)
            if account.balances.get("BNB", ZERO) >= fee:  # too little BNB: Binance falls back to the asset received
                return fee, "BNB"
        return (commission(qty, self.fee_rate), rules.base) if buy else (commission(value, self.fee_rate), rules.quote)

    @staticmethod
    def find(account: Account, symbol: str, order_id: int | None, client_id: str | None) -> SimOrder | None:
        """The newest order on symbol matching every id given (a client id may have been reused)."""
        for o in reversed(account.orders):
            if o.symbol == symbol and order_id in (None, o.order_id) and client_id in (None, o.client_order_id):
                return o
        return None


def _parts(qty: Decimal, price: Decimal, step: Decimal) -> list[Decimal]:
    """Split a large fill into 2-3 trades at one price (several resting orders), on the step grid."""
    value = qty * price
    shares = next((s for floor, s in _SPLIT if value >= floor), ())
    parts = [floor_to_step(qty * share, step) for share in shares]
    parts = [p for p in parts if p > 0]
    rest = qty - sum(parts, ZERO)
    return [p for p in (*parts, rest) if p > 0]
