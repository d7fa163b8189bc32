"""Reading a venue's book deep enough for one market order (core/book_walk.read_covering) for the paper venue.

A read that fails (the venue refuses it, times out or does not know the symbol) gives None: the paper venue
then prices the order with its flat model and records that it did.
"""
from __future__ import annotations

import logging

from ..app.ports import OrderBooks
from ..core.book_walk import OrderBook, read_covering
from ..core.domain import OrderRequest, Side, SymbolRules
from ..core.errors import OrderRejected, VenueUnavailable

log = logging.getLogger(__name__)


async def book_covering(books: OrderBooks, order: OrderRequest, rules: SymbolRules) -> OrderBook | None:
    """The book the order walks; None when unreadable or when the side the order takes is empty."""
    try:
        book = await read_covering(lambda limit: books.order_book(order.symbol, limit), order.side, rules,
                                   order.quote_amount, order.quantity if order.side is Side.SELL else None)
    except (VenueUnavailable, OrderRejected) as e:
        log.warning("%s: order book unreadable (%s); flat model", order.symbol, e)
        return None
    return book if (book.asks if order.side is Side.BUY else book.bids) else None
