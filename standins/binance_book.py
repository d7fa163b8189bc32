"""The local Binance's order book: price levels around the synthetic market's price, as deep as the coin trades.

Written from Binance's published rules (PRICE_FILTER: prices on the tick grid; LOT_SIZE: quantities on the step
grid), not from the product's paper venue, so that a mistake in the product's arithmetic shows against it.
A Book is plain data (best level first on each side), what GET /api/v3/depth would list.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

from tradingbot.core.domain import SymbolRules

LEVELS = 100  # per side: GET /api/v3/depth's default limit
DEEPEST = 5000  # per side: GET /api/v3/depth's deepest limit, and as deep as an order reaches
LEVEL_SHARE = Decimal("0.0005")  # of the day's quote volume resting at each level
MIN_LEVEL_QUOTE = Decimal(100)  # even a coin nobody trades shows some depth
GAP = Decimal("0.0001")  # one basis point of the price between levels (at least one tick)
EIGHT_DECIMALS = Decimal("0.00000001")  # a zero tick or step still means Binance's 8 decimals
_PREC = 60  # no product or quotient of Binance-sized amounts is rounded before it is floored


@dataclass(frozen=True)
class Level:
    """A price and the base quantity resting there (or, from walk, the part of it an order took)."""

    price: Decimal
    qty: Decimal


@dataclass(frozen=True)
class Book:
    """One symbol's book: bids highest first, asks lowest first; the best bid sits below the best ask."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def down_to(value: Decimal, unit: Decimal) -> Decimal:
    """value rounded down to a multiple of unit, as Binance wants quantities and prices sent."""
    with localcontext(prec=_PREC):
        return (value / unit).to_integral_value(ROUND_DOWN) * unit


def book_of(rules: SymbolRules, mid: Decimal, quote_volume: Decimal, levels: int = LEVELS) -> Book:
    """The book around mid: the best bid on the tick at or below it, the best ask one tick above that, each
    further level a basis point out, each holding a share of the day's quote volume (on the step grid)."""
    tick = rules.tick_size or EIGHT_DECIMALS
    step = rules.step_size or EIGHT_DECIMALS
    with localcontext(prec=_PREC):
        gap = max(tick, down_to(mid * GAP, tick))
        depth = max(quote_volume * LEVEL_SHARE, MIN_LEVEL_QUOTE)
        best_bid = down_to(mid, tick)
        bid_prices = [p for p in (best_bid - k * gap for k in range(levels)) if p > 0]
        ask_prices = [best_bid + tick + k * gap for k in range(levels)]
        smallest = max(step, rules.min_qty)

        def level(price: Decimal) -> Level:
            return Level(price, max(down_to(depth / price, step), smallest))
        return Book(rules.symbol, tuple(map(level, bid_prices)), tuple(map(level, ask_prices)))


@dataclass(frozen=True)
class Walk:
    """What a market order took from one side of the book: one part per level touched, best first."""

    taken: tuple[Level, ...]
    ran_out: bool  # the side ended while the order still wanted more

    @property
    def qty(self) -> Decimal:
        return sum((t.qty for t in self.taken), Decimal(0))

    @property
    def quote(self) -> Decimal:
        return sum((t.price * t.qty for t in self.taken), Decimal(0))


def walk(side: tuple[Level, ...], step: Decimal, qty: Decimal | None = None, quote: Decimal | None = None) -> Walk:
    """Take levels best first until `qty` base is filled or `quote` is spent (either or both bound the order);
    every part stays on the step grid, and a quote amount is never exceeded."""
    step = step or EIGHT_DECIMALS
    taken: list[Level] = []
    with localcontext(prec=_PREC):
        for level in side:
            size = level.qty if qty is None else min(level.qty, qty)
            if quote is not None:
                size = min(size, down_to(quote / level.price, step))
                while size > 0 and size * level.price > quote:  # a rounded quotient never tips the spend over
                    size -= step
            if size <= 0:
                return Walk(tuple(taken), ran_out=False)
            taken.append(Level(level.price, size))
            qty = None if qty is None else qty - size
            quote = None if quote is None else quote - size * level.price
            if qty == 0:
                return Walk(tuple(taken), ran_out=False)
    return Walk(tuple(taken), ran_out=True)
