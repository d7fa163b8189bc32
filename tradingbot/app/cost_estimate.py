"""What a plan would cost if sent now, from the venue's current books: fees, spread and impact per order, summed.

Every order's book is read at once (the venue's weight gate keeps the reads within budget); one unreadable book
leaves the estimate out rather than showing a part of it.
"""
from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Sequence

from ..core.book_walk import read_covering, walk_book
from ..core.cost_split import CostSplit, walk_cost
from ..core.domain import Plan, PlannedOrder, Side, SymbolRules
from ..core.errors import OrderRejected, VenueUnavailable
from .ports import OrderBooks

log = logging.getLogger(__name__)


async def estimate_costs(books: OrderBooks, plans: Sequence[Plan], rules: dict[str, SymbolRules],
                         fee_rate: Decimal) -> CostSplit | None:
    """The plans' orders walked against the books now; None when a book cannot be read."""
    async def one(order: PlannedOrder) -> CostSplit | None:
        rule = rules.get(order.symbol)
        if rule is None:
            return None
        qty = order.quantity if order.side is Side.SELL else None
        book = await read_covering(lambda n: books.order_book(order.symbol, n), order.side, rule,
                                   order.quote_amount, qty)
        mid, touch = book.mid, book.touch(order.side)
        if mid is None or touch is None:
            return None
        walk = walk_book(book, order.side, rule, fee_rate, quote_amount=order.quote_amount, qty=qty)
        return walk_cost(order.side, walk, mid, touch, rule.base)
    try:
        splits = await asyncio.gather(*(one(o) for p in plans for o in p.orders))
    except (VenueUnavailable, OrderRejected) as e:
        log.warning("plan cost estimate left out: %s", e)
        return None
    return sum((s for s in splits if s is not None), CostSplit())
