"""The Exchange port on a Binance Spot account (Spot Testnet, Demo Mode, or — if enabled — live).

Orders are MARKET orders with our deterministic client order id: buys by quote amount, sells by
quantity, amounts as fixed-point strings. Filters are checked before sending, so a refusal we can
foresee never costs a request; a sell's NOTIONAL is judged on the last price we already have, and
only a sell near the minimum asks for the average price Binance itself judges it by. Just before
each order the top of its book is read (GET /ticker/bookTicker, weight 2) and kept with the result as the
mid and best quote the order met, so the cost split tells the spread and the delay from the impact as it
does for paper orders; a read that fails or takes longer than QUOTE_READ_TIMEOUT_S is not waited for:
the order goes without it and the split counts those parts as impact. When the
answer to an order is lost, Binance cannot tell us "never received" until the request's
recvWindow has passed (a late request is refused after that), so find_order waits that long before
it answers None — the engine then re-sends, and never twice.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..core.domain import ZERO, OrderRequest, OrderResult, OrderStatus, Side, SymbolRules
from ..core.errors import INVALID_SYMBOL, NEW_ORDER_REJECTED, NO_SUCH_ORDER, OrderRejected, VenueUnavailable
from ..core.money import fmt_decimal
from ..app.ports import Clock, MarketData
from . import binance_parse as wire
from .binance_client import BinanceTransport
from .paper import check_lot_size, check_notional

log = logging.getLogger(__name__)

ACCOUNT_WEIGHT, ORDER_WEIGHT, GET_ORDER_WEIGHT, TRADES_WEIGHT, AVG_PRICE_WEIGHT = 20, 1, 4, 5, 2
BOOK_TICKER_WEIGHT = 2  # one symbol's GET /api/v3/ticker/bookTicker
# The book's top read before an order is worth one round trip, not a late order: past this it is given up.
QUOTE_READ_TIMEOUT_S = 1.0
SETTLE_POLLS = 5  # a market order still NEW/PARTIALLY_FILLED is asked about this many times
# A sell worth more than this multiple of the minimum notional at the last price passes without asking
# for Binance's 5-minute average price: the two differ by far less than 10 % outside a crash.
NOTIONAL_MARGIN = Decimal("1.1")


class BinanceExchange:
    """Implements Exchange over a signed BinanceTransport; `market` supplies filters and fee prices."""

    def __init__(self, name: str, transport: BinanceTransport, market: MarketData, clock: Clock,
                 quote: str = "USDT"):
        self.name, self.transport, self.market, self.clock, self.quote = name, transport, market, clock, quote
        self._sent_at: dict[str, float] = {}  # client order id -> the clock's monotonic reading when last sent
        self._started = clock.monotonic()  # orders sent by an earlier process: at worst just before this
        self._quoted: dict[str, tuple[Decimal | None, Decimal | None]] = {}  # client order id -> (mid, touch) at send

    async def balances(self) -> dict[str, Decimal]:
        account = await self.transport.call("get_account", ACCOUNT_WEIGHT, omitZeroBalances="true")
        return {b["asset"]: Decimal(b["free"]) for b in account["balances"] if Decimal(b["free"]) != 0}

    async def place_market_order(self, order: OrderRequest) -> OrderResult:
        rules = {r.symbol: r for r in await self.market.symbols()}.get(order.symbol)
        if rules is None:
            raise OrderRejected(INVALID_SYMBOL, "Invalid symbol.")
        await self._check_filters(order, rules)
        amount = {"quantity": fmt_decimal(order.quantity)} if order.quantity is not None else \
            {"quoteOrderQty": fmt_decimal(order.quote_amount or ZERO)}
        self._quoted[order.client_order_id] = await self._quote_at_send(order)
        self._sent_at[order.client_order_id] = self.clock.monotonic()
        response = await self.transport.call(
            "create_order", ORDER_WEIGHT, idempotent=False, symbol=order.symbol, side=order.side.value,
            type="MARKET", newClientOrderId=order.client_order_id, newOrderRespType="FULL", **amount)
        trades = wire.response_fills(response, int(response.get("transactTime", 0)))
        return await self._result(response, trades)

    async def _quote_at_send(self, order: OrderRequest) -> tuple[Decimal | None, Decimal | None]:
        """The mid and the best quote the order is about to meet (the ask for a buy, the bid for a sell); (None,
        None) when the book's top cannot be read within QUOTE_READ_TIMEOUT_S."""
        try:
            # Opened outside the timeout: the order needs the client anyway, and cancelling python-binance while
            # it creates one would leave its HTTP session open.
            await self.transport.open()
            top = await asyncio.wait_for(self.transport.call("get_orderbook_ticker", BOOK_TICKER_WEIGHT,
                                                             symbol=order.symbol), QUOTE_READ_TIMEOUT_S)
            book = wire.book_top(top)
        except (VenueUnavailable, OrderRejected, asyncio.TimeoutError, KeyError, TypeError, ArithmeticError) as e:
            log.info("%s: book's top unreadable before the order (%s); sent without it", order.symbol,
                     str(e) or type(e).__name__)
            return None, None
        return book.mid, book.touch(order.side) if book.mid is not None else None

    async def find_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """The order and its fills; None only once Binance could no longer accept the request."""
        for poll in range(SETTLE_POLLS):
            try:
                order = await self.transport.call("get_order", GET_ORDER_WEIGHT, symbol=symbol,
                                                  origClientOrderId=client_order_id)
            except OrderRejected as e:
                if e.code not in (NO_SUCH_ORDER, INVALID_SYMBOL):
                    raise
                if await self._maybe_in_flight(client_order_id):
                    continue
                return None
            if wire.order_status(order) is not OrderStatus.SENDING:
                return await self._result(order, await self._trades(order) if Decimal(order["executedQty"]) else [])
            await self.clock.sleep(0.2 * 2 ** poll)
        raise VenueUnavailable(f"order {client_order_id} is still working on the venue")

    async def _maybe_in_flight(self, client_order_id: str) -> bool:
        """Wait out the recvWindow of the last send once; True if we waited (ask again), False if it has passed."""
        sent = max(self._sent_at.get(client_order_id, self._started), self._started)
        remaining = sent + (self.transport.recv_window_ms + 1000) / 1000 - self.clock.monotonic()
        if remaining <= 0:
            return False
        log.info("order %s not found yet; waiting %.1f s for its recvWindow to pass", client_order_id, remaining)
        await self.clock.sleep(remaining)
        return True

    async def _trades(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        return await self.transport.call("get_my_trades", TRADES_WEIGHT, symbol=order["symbol"],
                                         orderId=order["orderId"])

    async def _result(self, order: dict[str, Any], trades: list[dict[str, Any]]) -> OrderResult:
        """The order as the domain sees it, with the book's top read before this process sent it (if it did)."""
        side, symbol, coid = Side(order["side"]), order["symbol"], order["clientOrderId"]
        fills = [wire.fill(t, coid, symbol, side, await self._fee_in_quote(t, symbol)) for t in trades]
        mid, touch = self._quoted.get(coid, (None, None))
        return replace(wire.order_result(order, tuple(fills)), send_mid=mid, send_touch=touch)

    async def _fee_in_quote(self, trade: dict[str, Any], symbol: str) -> Decimal:
        """The commission valued in the account's quote: at the fill price, or (BNB) at BNB's price now."""
        asset, amount, price = trade["commissionAsset"], Decimal(trade["commission"]), Decimal(trade["price"])
        if asset == self.quote:
            return amount
        if symbol == asset + self.quote:
            return amount * price
        rate = (await self.market.prices()).get(asset + self.quote)
        if rate is None:
            log.warning("no %s%s price to value a %s commission; counted as 0", asset, self.quote, asset)
            return ZERO
        return amount * rate

    async def _check_filters(self, order: OrderRequest, rules: SymbolRules) -> None:
        """Refuse locally what Binance would refuse: off-step or tiny quantities, notional too small."""
        if not rules.trading:
            raise OrderRejected(NEW_ORDER_REJECTED, "Market is closed.")
        if order.quantity is None:
            check_notional(order.quote_amount or ZERO, rules)
            return
        check_lot_size(order.quantity, rules)  # before asking for a price: an off-step order costs no request
        last = (await self.market.prices()).get(order.symbol)
        if last is not None and order.quantity * last >= rules.min_notional * NOTIONAL_MARGIN:
            return
        avg = await self.transport.call("get_avg_price", AVG_PRICE_WEIGHT, symbol=order.symbol)
        check_notional(order.quantity * Decimal(avg["price"]), rules)
