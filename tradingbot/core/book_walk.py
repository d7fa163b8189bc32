"""A market order against an order book (pure): level by level, one fill per level touched, each with its fee.

A buy by quote amount takes asks best first until the amount no longer buys one step; a sell by base quantity
takes bids best first until the quantity is filled. Quantities stay on the symbol's step grid and a quote
amount is never exceeded, as Binance fills a quoteOrderQty market order. A book that ends before the order
does says so (`short`): the caller reads deeper rather than guess what lies beyond.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Awaitable, Callable

from .costs import commission
from .domain import QUOTE_UNIT, ZERO, Side, SymbolRules
from .money import floor_to_step

# GET /api/v3/depth's valid limits. 20 levels cover most orders and are quick to serve and parse; a short read
# is followed by 100 (the same weight, 5), then by each dearer step (500: 25, 1000: 50, 5000: 250).
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
FIRST_DEPTH = 20
_READS = (FIRST_DEPTH, 100, 500, 1000, 5000)
_PREC = 60  # no product or sum of Binance-sized amounts is rounded


@dataclass(frozen=True)
class BookLevel:
    """A price and the base quantity resting there."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True)
class OrderBook:
    """One symbol's book as read: bids highest first, asks lowest first; `limit` levels a side were asked for."""

    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    limit: int = FIRST_DEPTH

    @property
    def complete(self) -> bool:
        """Fewer levels came back than were asked for on both sides: there is nothing deeper to read."""
        return len(self.bids) < self.limit and len(self.asks) < self.limit

    @property
    def mid(self) -> Decimal | None:
        """Halfway between the best bid and the best ask (None when a side is empty)."""
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2

    def touch(self, side: Side) -> Decimal | None:
        """The best price an order on `side` meets: the best ask for a buy, the best bid for a sell."""
        levels = self.asks if side is Side.BUY else self.bids
        return levels[0].price if levels else None


@dataclass(frozen=True)
class LevelFill:
    """What the order took at one level, and the commission on it in the asset received."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    fee_quote: Decimal  # the commission valued in the symbol's quote at this level's price


@dataclass(frozen=True)
class BookWalk:
    """An order's fills against one book; `short` when the book ended while the order wanted more."""

    fills: tuple[LevelFill, ...]
    short: bool

    @property
    def qty(self) -> Decimal:
        return sum((f.qty for f in self.fills), ZERO)

    @property
    def quote(self) -> Decimal:
        """Base taken times price, summed over the levels: what a buy spends or a sell receives, before fees."""
        return sum((f.qty * f.price for f in self.fills), ZERO)

    @property
    def fee_quote(self) -> Decimal:
        return sum((f.fee_quote for f in self.fills), ZERO)

    @property
    def avg_price(self) -> Decimal | None:
        """The volume-weighted price of the fills (None when nothing filled)."""
        qty = self.qty
        if not qty:
            return None
        with localcontext(prec=_PREC):
            return self.quote / qty


def depth_weight(limit: int) -> int:
    """The request weight Binance counts for GET /api/v3/depth with `limit` levels."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def deeper(limit: int) -> int | None:
    """The limit to read after a read of `limit` levels fell short, or None at the deepest."""
    return next((n for n in _READS if n > limit), None)


async def read_covering(read: Callable[[int], Awaitable[OrderBook]], side: Side, rules: SymbolRules,
                        quote_amount: Decimal | None, qty: Decimal | None) -> OrderBook:
    """The shallowest read (20 levels first, then 100, 500, 1000, 5000) whose levels cover the order, or the
    deepest there is: a short book is read deeper, never extrapolated. `read(limit)` does the reading."""
    limit: int | None = FIRST_DEPTH
    while True:
        assert limit is not None
        book = await read(limit)
        walk = walk_book(book, side, rules, ZERO, quote_amount=quote_amount, qty=qty)
        limit = deeper(limit)
        if not walk.short or book.complete or limit is None:
            return book


def walk_book(book: OrderBook, side: Side, rules: SymbolRules, fee_rate: Decimal, *,
              quote_amount: Decimal | None = None, qty: Decimal | None = None) -> BookWalk:
    """Fill a buy by `quote_amount` against the asks, or a sell by `qty` against the bids, level by level."""
    step = rules.step_size if rules.step_size > 0 else QUOTE_UNIT  # no lot rule still means 8 decimals at most
    levels = book.asks if side is Side.BUY else book.bids
    fills: list[LevelFill] = []
    with localcontext(prec=_PREC):
        for level in levels:
            size = level.qty if qty is None else min(level.qty, qty)
            if quote_amount is not None:
                size = min(size, floor_to_step(quote_amount / level.price, step))
                while size > 0 and size * level.price > quote_amount:  # a rounded quotient never tips it over
                    size -= step
            if size <= 0:
                return BookWalk(tuple(fills), short=False)
            fills.append(_level_fill(level.price, size, side, rules, fee_rate))
            qty = None if qty is None else qty - size
            quote_amount = None if quote_amount is None else quote_amount - size * level.price
            if qty == 0 or size < level.qty:  # a level left standing: the order ended before the book did
                return BookWalk(tuple(fills), short=False)
    return BookWalk(tuple(fills), short=True)


def _level_fill(price: Decimal, size: Decimal, side: Side, rules: SymbolRules, fee_rate: Decimal) -> LevelFill:
    """One level's fill; Binance charges commission on each trade in the asset it gives the trader."""
    if side is Side.BUY:
        fee = commission(size, fee_rate)
        return LevelFill(price, size, fee, rules.base, fee * price)
    fee = commission(size * price, fee_rate)
    return LevelFill(price, size, fee, rules.quote, fee)
