"""Sending one journaled order exactly once: look it up, send it, settle it, book it.

The journal says what was meant; the venue says what happened. An order whose outcome is unknown
(a timeout, a crash between sending and booking) is looked up by its client order id before it is
sent again, and booking an execution is idempotent, so no path sends or books an order twice.
"""
from __future__ import annotations

import logging

from .ports import Checkpoint
from ..core.domain import OrderRecord, OrderRequest, OrderResult, OrderStatus, RebalanceRow, Side, SymbolRules
from ..core.errors import OrderRejected, VenueUnavailable
from .ports import Clock, Exchange, Store

log = logging.getLogger(__name__)
DUPLICATE = "Duplicate order sent."  # Binance -2010 text when a client order id is still known
MAX_ORDER_WAIT_S = 120.0  # an order waits out a venue's retry-after up to this; longer, the resume job retries


class OrderDesk:
    def __init__(self, store: Store, exchange: Exchange, clock: Clock, retries: int, backoff_s: float,
                 checkpoint: Checkpoint):
        self.store, self.exchange, self.clock, self.checkpoint = store, exchange, clock, checkpoint
        self.retries, self.backoff_s = retries, backoff_s

    async def execute(self, row: RebalanceRow, order: OrderRecord, rules: dict[str, SymbolRules],
                      look_first: bool) -> bool:
        """Send one journaled order, or settle it from the venue if an earlier attempt's outcome is unknown.

        On a resumed slot every unsettled order is looked up first: after a crash (or a power cut that
        lost the last journal write) the venue, not the journal, knows whether it arrived.
        """
        coid = order.client_order_id
        try:
            if look_first or order.status is OrderStatus.SENDING:
                found = await self.find(order.symbol, coid)
                if found:
                    self.record(row, found, rules)
                    return True
            self.store.set_order_status(coid, OrderStatus.SENDING, self.clock.now())
            self.checkpoint("order-sending")
            result = await self._send(request_for(order))
            self.checkpoint("order-accepted")
        except VenueUnavailable as e:
            log.warning("order %s: outcome unknown, venue unavailable (%s); will look it up on resume", coid, e)
            return False
        except OrderRejected as e:
            log.warning("order %s rejected: %s", coid, e)
            self.store.set_order_status(coid, OrderStatus.REJECTED, self.clock.now(), e.code, e.message)
            return True
        self.record(row, result, rules)
        return True

    async def _send(self, request: OrderRequest) -> OrderResult:
        """Place with retries; after each transient failure, find out whether the order went through."""
        for attempt in range(self.retries + 1):
            try:
                return await self.exchange.place_market_order(request)
            except OrderRejected as e:
                found = await self.find(request.symbol, request.client_order_id) if e.message == DUPLICATE else None
                if found:
                    return found
                raise
            except VenueUnavailable as e:
                await self.clock.sleep(self._retry_pause(e, attempt))
                found = await self.find(request.symbol, request.client_order_id)
                if found:
                    return found
        raise AssertionError("unreachable")

    async def find(self, symbol: str, coid: str) -> OrderResult | None:
        """The venue's answer for a client order id: the order, or None when it surely never arrived."""
        for attempt in range(self.retries + 1):
            try:
                return await self.exchange.find_order(symbol, coid)
            except VenueUnavailable as e:
                await self.clock.sleep(self._retry_pause(e, attempt))
        raise AssertionError("unreachable")

    def _retry_pause(self, e: VenueUnavailable, attempt: int) -> float:
        """The wait before the next try; or e again when out of tries, or when the venue asks for longer
        than a rebalance should hold its lock (a 418 ban): the order stays unsettled for the resume job."""
        if attempt == self.retries or (e.retry_after or 0) > MAX_ORDER_WAIT_S:
            raise e
        return e.retry_after or self.backoff_s * 2**attempt

    def record(self, row: RebalanceRow, result: OrderResult, rules: dict[str, SymbolRules]) -> None:
        base = rules[result.symbol].base if result.symbol in rules else result.symbol.removesuffix(self.store.quote)
        if not self.store.record_execution(result.client_order_id, result.status, result.exchange_order_id,
                                           result.fills, base, row.id, self.clock.now(),
                                           quoted=(result.send_mid, result.send_touch)):
            log.info("order %s was already booked", result.client_order_id)
        self.checkpoint("sell-recorded" if result.side is Side.SELL else "buy-recorded")


def request_for(order: OrderRecord) -> OrderRequest:
    """The venue request for a journaled order: sells by quantity, buys by quote amount."""
    sell = order.side is Side.SELL
    return OrderRequest(order.client_order_id, order.symbol, order.side,
                        quantity=order.requested_qty if sell else None,
                        quote_amount=None if sell else order.requested_quote)
