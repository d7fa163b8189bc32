"""Reading a venue's book deep enough for one market order: 100 levels first, deeper only while the order needs it.

A read that fails (the venue refuses it, times out or does not know the symbol) gives None: the paper venue
then prices the order with its flat model and records that it did.
"""
from __future__ import annotations

import logging

from ..app.ports import OrderBooks
from ..core.book_walk import FIRST_DEPTH, OrderBook, deeper, walk_book
from ..core.domain import ZERO, OrderRequest, Side, SymbolRules
from ..core.errors import OrderRejected, VenueUnavailable

log = logging.getLogger(__name__)


async def book_covering(books: OrderBooks, order: OrderRequest, rules: SymbolRules) -> OrderBook | None:
    """The shallowest read whose levels cover the order, or the deepest the venue has; None when unreadable
    or when the side the order takes is empty."""
    limit: int | None = FIRST_DEPTH
    book: OrderBook | None = None
    while limit is not None:
        try:
            book = await books.order_book(order.symbol, limit)
        except (VenueUnavailable, OrderRejected) as e:
            log.warning("%s: order book unreadable (%s); flat model", order.symbol, e)
            return None
        walk = walk_book(book, order.side, rules, ZERO, quote_amount=order.quote_amount,
                         qty=order.quantity if order.side is Side.SELL else None)
        if not walk.short or book.complete:
            break
        limit = deeper(limit)
    assert book is not None
    return book if (book.asks if order.side is Side.BUY else book.bids) else None
