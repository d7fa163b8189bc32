"""The paper venue: fills market orders Binance-style against MarketData prices, kept in SQLite."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, Sequence

import sqlite_utils

from ..core.book_walk import BookWalk, OrderBook, walk_book
from ..core.costs import BPS, CostSource, Costs, commission
from ..core.domain import CLIENT_ORDER_ID, QUOTE_UNIT, ZERO, Fill, OrderRequest, OrderResult, OrderStatus, Side, SymbolRules
from ..core.errors import (
    FILTER_FAILURE, ILLEGAL_CHARS, INVALID_SYMBOL, MANDATORY_PARAM, NEW_ORDER_REJECTED, OrderRejected,
)
from ..core.money import floor_to_step, fmt_decimal, round_to_tick
from ..app.ports import Clock, MarketData, OrderBooks
from .book_reads import book_covering
from ..core.timefmt import iso, parse_iso


_NUMBER_RANGE = "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."
_PREC = 60  # wide enough that no product or sum of Binance-sized amounts is ever rounded
_NO_FUNDS = "Account has insufficient balance for requested action."
_NO_QTY = "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."


def _text(d: Decimal | None) -> str | None:
    """Exact text for an optional amount (NULL when absent)."""
    return None if d is None else fmt_decimal(d)


def check_params(order: OrderRequest) -> None:
    """Parameter checks Binance makes before the symbol and the book are consulted."""
    if not CLIENT_ORDER_ID.match(order.client_order_id):
        raise OrderRejected(ILLEGAL_CHARS, "Illegal characters found in parameter 'newClientOrderId'.")
    for name, value in (("quantity", order.quantity), ("quoteOrderQty", order.quote_amount)):
        if value is not None and (not value.is_finite() or value < 0):  # the wire format has no sign
            raise OrderRejected(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'; {_NUMBER_RANGE}")
    # Selling by quote amount is possible on Binance but not something this bot sends
    if order.quantity is None and (order.side is Side.SELL or order.quote_amount is None):
        raise OrderRejected(MANDATORY_PARAM, _NO_QTY)


def fill_price(price: Decimal, side: Side, rules: SymbolRules, slippage_bps: Decimal) -> Decimal:
    """The reference price moved against the order, then rounded to the tick against the trader."""
    move = price * slippage_bps / BPS
    if side is Side.BUY:
        return round_to_tick(price + move, rules.tick_size, up=True)
    return round_to_tick(price - move, rules.tick_size, up=False)


def buy_quantity(quote_amount: Decimal, price: Decimal, step: Decimal) -> Decimal:
    """Binance quoteOrderQty: the largest lot-size quantity whose cost does not exceed the amount."""
    step = step if step > 0 else QUOTE_UNIT  # no lot rule still means 8 decimals at most
    qty = floor_to_step(quote_amount / price, step)
    # The division is rounded to context precision; never let that tip the spend over the amount
    while qty > 0 and qty * price > quote_amount:
        qty -= step
    return max(qty, ZERO)


def check_filters(qty: Decimal, price: Decimal, rules: SymbolRules) -> None:
    """LOT_SIZE then NOTIONAL, with Binance's codes and messages."""
    check_lot_size(qty, rules)
    check_notional(qty * price, rules)


def check_lot_size(qty: Decimal, rules: SymbolRules) -> None:
    off_step = floor_to_step(qty, rules.step_size) != qty
    too_big = rules.max_qty > 0 and qty > rules.max_qty
    if qty <= 0 or off_step or qty < rules.min_qty or too_big:
        raise OrderRejected(FILTER_FAILURE, "Filter failure: LOT_SIZE")


def check_notional(value: Decimal, rules: SymbolRules) -> None:
    if value < rules.min_notional:
        raise OrderRejected(FILTER_FAILURE, "Filter failure: NOTIONAL")


@dataclass(frozen=True)
class _Settlement:
    """What one fill does to the account."""

    qty: Decimal
    price: Decimal
    value: Decimal  # qty x price, in the symbol's quote
    commission: Decimal
    commission_asset: str
    fee_value: Decimal  # commission valued in the symbol's quote
    changes: dict[str, Decimal]
    priced_by: str = "flat"  # 'book': a level of the venue's book; 'flat': the last price moved by slippage_bps


def _settle(order: OrderRequest, rules: SymbolRules, qty: Decimal, price: Decimal,
            fee_rate: Decimal, free: dict[str, Decimal]) -> _Settlement:
    """Check the balance and charge commission in the asset received, as Binance spot does."""
    value = qty * price
    if order.side is Side.BUY:
        # A quoteOrderQty buy must be covered in full even though it may spend a little less
        needed = order.quote_amount if order.quote_amount is not None else value
        if free.get(rules.quote, ZERO) < needed:
            raise OrderRejected(NEW_ORDER_REJECTED, _NO_FUNDS)
        fee = commission(qty, fee_rate)
        changes = {rules.base: qty - fee, rules.quote: -value}
        return _Settlement(qty, price, value, fee, rules.base, fee * price, changes)
    if free.get(rules.base, ZERO) < qty:
        raise OrderRejected(NEW_ORDER_REJECTED, _NO_FUNDS)
    fee = commission(value, fee_rate)
    changes = {rules.base: -qty, rules.quote: value - fee}
    return _Settlement(qty, price, value, fee, rules.quote, fee, changes)


def _settle_walk(order: OrderRequest, rules: SymbolRules, walk: BookWalk,
                 free: dict[str, Decimal]) -> list[_Settlement]:
    """One settlement per level the order took; the balance is checked once, for the whole order, as Binance
    rejects a shortfall outright (a quoteOrderQty buy must be covered in full)."""
    buy = order.side is Side.BUY
    needed = (order.quote_amount if order.quote_amount is not None else walk.quote) if buy else walk.qty
    if free.get(rules.quote if buy else rules.base, ZERO) < (needed if buy else (order.quantity or ZERO)):
        raise OrderRejected(NEW_ORDER_REJECTED, _NO_FUNDS)
    out = []
    for f in walk.fills:
        value = f.qty * f.price
        if buy:
            changes = {rules.base: f.qty - f.commission, rules.quote: -value}
        else:
            changes = {rules.base: -f.qty, rules.quote: value - f.commission}
        out.append(_Settlement(f.qty, f.price, value, f.commission, f.commission_asset, f.fee_quote, changes, "book"))
    return out


class PaperExchange:
    """A local venue implementing the Exchange port; balances, orders and fills live in SQLite."""

    name = "paper"

    def __init__(
        self, db: sqlite_utils.Database, market: MarketData, clock: Clock,
        costs: CostSource = Costs, quote: str = "USDT", books: OrderBooks | None = None,
    ):
        self.db, self.market, self.clock = db, market, clock
        self.books = books  # when given, orders walk the venue's book; without one (or unreadable), the flat model
        self._book_round_trip = 0.0  # seconds the last book read took
        self.costs = costs  # asked once per order (the bot's parameters in force); by default Costs()
        self.quote = quote  # the account's cash asset, in which fee_quote is reported
        _ensure_schema(db)

    def deposit(self, asset: str, amount: Decimal) -> None:
        """Credit starting capital; recorded in paper_deposits so balances can be re-derived."""
        if not asset or not amount.is_finite() or amount <= 0:
            raise ValueError(f"deposit needs an asset and a positive amount, got {asset!r} {amount}")
        with self.db.atomic(), localcontext(prec=_PREC):
            row = {"asset": asset, "amount": fmt_decimal(amount), "time": iso(self.clock.now())}
            self.db.table("paper_deposits").insert(row)
            self._credit({asset: amount})

    async def balances(self) -> dict[str, Decimal]:
        """Non-zero free balances."""
        return {a: v for a, v in sorted(self._read_balances().items()) if v != 0}

    async def place_market_order(self, order: OrderRequest) -> OrderResult:
        """Fill a market order after the simulated latency, or raise OrderRejected changing nothing."""
        costs = self.costs()  # one snapshot, so a change mid-order never mixes two settings
        received = self.clock.now()
        # A book read takes a round trip and the venue answers from the book as it is halfway through: the read
        # starts that much early, so the book the order walks is the one it meets, latency_ms after it was sent.
        lead = min(self._book_round_trip / 2, costs.latency_ms / 1000) if self.books is not None else 0.0
        if costs.latency_ms:
            await self.clock.sleep(costs.latency_ms / 1000 - lead)
        rules = {r.symbol: r for r in await self.market.symbols()}
        prices = await self.market.prices()
        began = self.clock.monotonic()
        book = await self._book_for(order, rules.get(order.symbol))
        if book is not None:
            self._book_round_trip = self.clock.monotonic() - began
        # No await from here on: the checks and the writes cannot interleave with another
        # order on this event loop, and one transaction makes them all-or-nothing on disk.
        with self.db.atomic(), localcontext(prec=_PREC):
            self._execute(order, rules, prices, costs, received, book)
            result = self._load(order.client_order_id)
        assert result is not None
        return result

    async def convert_dust(self, orders: Sequence[OrderRequest]) -> list[OrderResult]:
        """Sell each holding to the quote at the last price less the fee, below every filter, as Binance's dust
        conversion does (it takes BNB; the paper account takes its quote). All or nothing, one fill each."""
        rules = {r.symbol: r for r in await self.market.symbols()}
        prices = await self.market.prices()
        received, fee_rate = self.clock.now(), self.costs().fee_rate
        with self.db.atomic(), localcontext(prec=_PREC):
            for order in orders:
                rule, price = rules.get(order.symbol), prices.get(order.symbol)
                if rule is None or price is None or order.quantity is None or order.side is not Side.SELL:
                    raise OrderRejected(NEW_ORDER_REJECTED, f"{order.symbol}: no price to convert dust at.")
                if self._order_row(order.client_order_id) is not None:
                    raise OrderRejected(NEW_ORDER_REJECTED, "Duplicate order sent.")
                if self._read_balances().get(rule.base, ZERO) < order.quantity:
                    raise OrderRejected(NEW_ORDER_REJECTED, "Account has insufficient balance for requested action.")
                value = order.quantity * price
                fee = commission(value, fee_rate)
                changes = {rule.base: -order.quantity, rule.quote: value - fee}
                fill = _Settlement(order.quantity, price, value, fee, rule.quote, fee, changes)
                self._record(order, [(fill, self._in_account_quote(fee, rule.quote, prices))], received,
                             quoted=(price, price))
            results = [self._load(o.client_order_id) for o in orders]
        return [r for r in results if r is not None]

    async def _book_for(self, order: OrderRequest, rules: SymbolRules | None) -> OrderBook | None:
        """The book the order walks, as at the end of the latency; None (the flat model) without one to read."""
        if self.books is None or rules is None or not rules.trading:
            return None
        try:
            check_params(order)  # a malformed order is refused below as Binance would, without a read
        except OrderRejected:
            return None
        return await book_covering(self.books, order, rules)

    async def find_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The stored order with its fills, or None if unknown or on another symbol."""
        result = self._load(client_order_id)
        return result if result is not None and result.symbol == symbol else None

    def _execute(
        self, order: OrderRequest, rules_by_symbol: dict[str, SymbolRules], prices: dict[str, Decimal],
        costs: Costs, received: datetime, book: OrderBook | None = None,
    ) -> None:
        """Validate like Binance, then write balances, the order and its fill."""
        check_params(order)
        rules = rules_by_symbol.get(order.symbol)
        if rules is None:
            raise OrderRejected(INVALID_SYMBOL, "Invalid symbol.")
        price = prices.get(order.symbol)
        if not rules.trading or price is None or price <= 0:
            # No price means no book to match against; Binance would refuse the same way
            raise OrderRejected(NEW_ORDER_REJECTED, "Market is closed.")
        if self._order_row(order.client_order_id) is not None:
            raise OrderRejected(NEW_ORDER_REJECTED, "Duplicate order sent.")
        if book is not None:
            return self._execute_on_book(order, rules, price, prices, costs, received, book)
        at = fill_price(price, order.side, rules, costs.slippage_bps)
        if order.side is Side.BUY and order.quote_amount is not None:
            qty = buy_quantity(order.quote_amount, at, rules.step_size)
        else:
            assert order.quantity is not None  # check_params made sure
            qty = order.quantity
        check_filters(qty, price, rules)
        fill = _settle(order, rules, qty, at, costs.fee_rate, self._read_balances())
        fee_quote = self._in_account_quote(fill.fee_value, rules.quote, prices)
        self._record(order, [(fill, fee_quote)], received, quoted=(price, price))

    def _execute_on_book(self, order: OrderRequest, rules: SymbolRules, price: Decimal, prices: dict[str, Decimal],
                         costs: Costs, received: datetime, book: OrderBook) -> None:
        """Fill level by level as Binance does: one fill per level, each with its fee; a book that ends first
        fills what it has (the rest expires, as a Binance market order out of liquidity does)."""
        walk = walk_book(book, order.side, rules, costs.fee_rate, quote_amount=order.quote_amount,
                         qty=order.quantity if order.side is Side.SELL else None)
        qty = order.quantity if order.side is Side.SELL and order.quantity is not None else walk.qty
        check_filters(qty, price, rules)  # NOTIONAL at the average price, for which the last price stands in
        fills = _settle_walk(order, rules, walk, self._read_balances())
        status = OrderStatus.PARTIAL if walk.short else OrderStatus.FILLED
        mid, touch = book.mid, book.touch(order.side)
        self._record(order, [(f, self._in_account_quote(f.fee_value, rules.quote, prices)) for f in fills],
                     received, quoted=(mid, touch), status=status)

    def _record(self, order: OrderRequest, fills: list[tuple[_Settlement, Decimal]], received: datetime,
                quoted: tuple[Decimal | None, Decimal | None], status: OrderStatus = OrderStatus.FILLED) -> None:
        """Write the order, its fills (each with its fee in the account's quote), the mid and best quote it met,
        and the balance changes (inside the caller's transaction)."""
        order_id = self._next_id("paper_orders", "exchange_order_id")
        common = {"client_order_id": order.client_order_id, "symbol": order.symbol, "side": order.side.value}
        self._insert("paper_orders", {
            **common, "exchange_order_id": order_id, "status": status.value,
            "requested_qty": _text(order.quantity), "requested_quote": _text(order.quote_amount),
            "executed_qty": fmt_decimal(sum((f.qty for f, _ in fills), ZERO)),
            "cumulative_quote": fmt_decimal(sum((f.value for f, _ in fills), ZERO)),
            "created_at": iso(received), "send_mid": _text(quoted[0]), "send_touch": _text(quoted[1]),
        })
        for fill, fee_quote in fills:
            trade_id = self._next_id("paper_fills", "id")
            self._insert("paper_fills", {
                **common, "id": trade_id, "trade_id": trade_id, "price": fmt_decimal(fill.price),
                "qty": fmt_decimal(fill.qty), "commission": fmt_decimal(fill.commission),
                "commission_asset": fill.commission_asset, "fee_quote": fmt_decimal(fee_quote),
                "time": iso(self.clock.now()), "priced_by": fill.priced_by,
            })
            self._credit(fill.changes)

    def _in_account_quote(self, amount: Decimal, asset: str, prices: dict[str, Decimal]) -> Decimal:
        """Value a fee of a cross pair (e.g. ETHBTC) in the account's quote when a price allows."""
        if asset == self.quote:
            return amount
        rate = prices.get(f"{asset}{self.quote}")
        return amount * rate if rate else amount  # no route: left in the symbol's quote

    def _credit(self, changes: dict[str, Decimal]) -> None:
        """Add signed amounts to balances (inside the caller's transaction)."""
        free = self._read_balances()
        rows = [(a, fmt_decimal(free.get(a, ZERO) + d)) for a, d in changes.items()]
        self.db.conn.executemany("INSERT INTO paper_balances (asset, free) VALUES (?, ?) "
                                 "ON CONFLICT(asset) DO UPDATE SET free = excluded.free", rows)

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        """One row, in plain SQL: sqlite-utils' insert looks the table up first, ~40x the insert itself."""
        self.db.conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                             list(row.values()))

    def _read_balances(self) -> dict[str, Decimal]:
        rows = self.db.query("SELECT asset, free FROM paper_balances")
        return {r["asset"]: Decimal(r["free"]) for r in rows}

    def _next_id(self, table: str, column: str) -> int:
        # Sequential like Binance orderId/tradeId; safe because it runs inside the order's transaction
        row = self.db.execute(f"SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}").fetchone()
        return int(row[0])

    def _order_row(self, client_order_id: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT * FROM paper_orders WHERE client_order_id = ?", [client_order_id])
        return next(iter(rows), None)

    def _load(self, client_order_id: str) -> OrderResult | None:
        """Rebuild the OrderResult of a stored order from its row and fills."""
        row = self._order_row(client_order_id)
        if row is None:
            return None
        sql = "SELECT * FROM paper_fills WHERE client_order_id = ? ORDER BY id"
        fills = self.db.query(sql, [client_order_id])
        return OrderResult(
            client_order_id=row["client_order_id"], symbol=row["symbol"], side=Side(row["side"]),
            status=OrderStatus(row["status"]), exchange_order_id=str(row["exchange_order_id"]),
            fills=tuple(_fill(f) for f in fills),
            send_mid=_number(row.get("send_mid")), send_touch=_number(row.get("send_touch")),
        )


def _fill(f: dict[str, Any]) -> Fill:
    """A stored paper_fills row as a domain Fill."""
    return Fill(
        client_order_id=f["client_order_id"], symbol=f["symbol"], side=Side(f["side"]),
        price=Decimal(f["price"]), quantity=Decimal(f["qty"]), commission=Decimal(f["commission"]),
        commission_asset=f["commission_asset"], fee_quote=Decimal(f["fee_quote"]),
        time=parse_iso(f["time"]), trade_id=str(f["trade_id"]), priced_by=f.get("priced_by") or "flat",
    )


def _number(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# Amounts are TEXT so Decimals round-trip exactly; times are ISO-8601 UTC text.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS paper_balances (asset TEXT PRIMARY KEY, free TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS paper_deposits (
    id INTEGER PRIMARY KEY, asset TEXT NOT NULL, amount TEXT NOT NULL, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS paper_orders (
    client_order_id TEXT PRIMARY KEY, exchange_order_id INTEGER NOT NULL UNIQUE, symbol TEXT NOT NULL,
    side TEXT NOT NULL, status TEXT NOT NULL, requested_qty TEXT, requested_quote TEXT,
    executed_qty TEXT NOT NULL, cumulative_quote TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS paper_fills (
    id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL REFERENCES paper_orders(client_order_id),
    trade_id INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
    qty TEXT NOT NULL, commission TEXT NOT NULL, commission_asset TEXT NOT NULL,
    fee_quote TEXT NOT NULL, time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS paper_fills_by_order ON paper_fills(client_order_id);
"""


# Added later: which model priced a fill, and the mid and best quote an order met (NULL on older rows).
_LATER_COLUMNS = {"paper_fills": ("priced_by",), "paper_orders": ("send_mid", "send_touch")}


def _ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the paper tables if missing and add the later columns; safe to run on every start."""
    with db.atomic():
        db.executescript(_SCHEMA)
        for table, columns in _LATER_COLUMNS.items():
            have = {c.name for c in db.table(table).columns}
            for column in columns:
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
