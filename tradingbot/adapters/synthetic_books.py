"""Order books for the synthetic market: levels on the tick and step grids around each coin's price, each holding a
share of the coin's last 24 hours of quote volume, so a thin coin's book is thin and the offline demo shows what
walking it costs.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal, localcontext

from ..app.ports import Clock, MarketData
from ..core.book_walk import BookLevel, OrderBook
from ..core.domain import QUOTE_UNIT, ZERO, SymbolRules
from ..core.errors import INVALID_SYMBOL, OrderRejected

LEVEL_SHARE = Decimal("0.0005")  # of the day's quote volume resting at each level
MIN_LEVEL_QUOTE = Decimal(100)  # even a coin nobody trades shows some depth
GAP = Decimal("0.0001")  # a basis point of the price between levels (at least one tick)
_PREC = 60


def _down(value: Decimal, unit: Decimal) -> Decimal:
    with localcontext(prec=_PREC):
        return (value / unit).to_integral_value(ROUND_DOWN) * unit


def book_around(rules: SymbolRules, price: Decimal, day_quote_volume: Decimal, limit: int) -> OrderBook:
    """`limit` levels a side: the best bid on the tick at or below the price, the best ask a tick above it."""
    tick = rules.tick_size if rules.tick_size > 0 else QUOTE_UNIT
    step = rules.step_size if rules.step_size > 0 else QUOTE_UNIT
    with localcontext(prec=_PREC):
        gap = max(tick, _down(price * GAP, tick))
        depth = max(day_quote_volume * LEVEL_SHARE, MIN_LEVEL_QUOTE)
        best_bid = _down(price, tick)
        smallest = max(step, rules.min_qty)

        def level(at: Decimal) -> BookLevel:
            return BookLevel(at, max(_down(depth / at, step), smallest))
        bids = tuple(level(best_bid - k * gap) for k in range(limit) if best_bid - k * gap > 0)
        asks = tuple(level(best_bid + tick + k * gap) for k in range(limit))
    return OrderBook(rules.symbol, bids, asks, limit)


class SyntheticBooks:
    """Implements OrderBooks over a market's prices and hourly candles (the synthetic market's, offline)."""

    def __init__(self, market: MarketData, clock: Clock):
        self.market, self.clock = market, clock

    async def order_book(self, symbol: str, limit: int) -> OrderBook:
        rules = next((r for r in await self.market.symbols() if r.symbol == symbol), None)
        if rules is None:
            raise OrderRejected(INVALID_SYMBOL, "Invalid symbol.")
        price = (await self.market.prices()).get(symbol)
        if price is None or price <= 0:  # not trading: an empty book, as Binance shows one
            return OrderBook(symbol, (), (), limit)
        now = self.clock.now()
        day = await self.market.candles(symbol, "1h", now - timedelta(days=1), now)
        return book_around(rules, price, sum((c.quote_volume for c in day), ZERO), limit)
