"""The Spot REST v3 endpoints of the local Binance: parameter rules, weights and answers, behind parsed requests.

Transport, authentication, the weight meter and faults that act before a handler live in binance_api.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Awaitable, Callable, NamedTuple

from tradingbot.adapters.synthetic import INTERVAL_HOURS
from tradingbot.core.domain import Candle, Side, SymbolRules
from tradingbot.app.ports import Clock
from .binance_book import DEEPEST, EIGHT_DECIMALS, Book, walk
from .binance_engine import MARKET_CLOSED, Execution, MatchingEngine
from .binance_faults import Faults
from .binance_gate import (Params, amount, depth_limit, depth_weight, fixed, limit, mandatory, one_or_all, opt_int,
                           symbol_list, ticker_weight)
from .binance_json import (ApiError, Json, account_json, at_ms, best_prices, exchange_info, kline_row, num,
                           order_ack, order_full, order_query, order_result, ticker_24hr, trade_json)
from .binance_listing import Listing
from .binance_orders import Account, MarketOrder, SimOrder

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
INVALID_SYMBOL = ApiError(400, -1121, "Invalid symbol.")
_RESPONSE_TYPES = {"ACK": order_ack, "RESULT": order_result, "FULL": order_full}


@dataclass(frozen=True)
class Call:
    """One authenticated (or public) request, parsed: what every handler gets."""

    params: Params
    account: Account | None
    server_ms: int

    def owner(self) -> Account:
        """The signed request's account."""
        assert self.account is not None, "a signed route always has an account"
        return self.account


class Route(NamedTuple):
    handler: Callable[[Call], Awaitable[Any]]
    signed: bool
    weight: Callable[[Params], int]


class SpotApi:
    """The handlers: each takes a parsed Call and returns the JSON answer, or raises ApiError."""

    def __init__(self, listing: Listing, engine: MatchingEngine, faults: Faults, clock: Clock, weight_limit: int):
        self.listing, self.engine, self.faults, self.clock = listing, engine, faults, clock
        self.weight_limit = weight_limit
        self._update_id = 0

    def routes(self) -> dict[tuple[str, str], Route]:
        """(method, path) -> route, as python-binance calls them."""
        v3 = "/api/v3/"
        table = {
            ("GET", "ping"): Route(self.ping, False, fixed(1)),
            ("GET", "time"): Route(self.time, False, fixed(1)),
            ("GET", "exchangeInfo"): Route(self.exchange_info, False, fixed(20)),
            ("GET", "klines"): Route(self.klines, False, fixed(2)),
            ("GET", "uiKlines"): Route(self.klines, False, fixed(2)),
            ("GET", "avgPrice"): Route(self.avg_price, False, fixed(2)),
            ("GET", "depth"): Route(self.depth, False, depth_weight),
            ("GET", "ticker/24hr"): Route(self.ticker_24hr, False, ticker_weight),
            ("GET", "ticker/price"): Route(self.ticker_price, False, one_or_all),
            ("GET", "ticker/bookTicker"): Route(self.book_ticker, False, one_or_all),
            ("GET", "account"): Route(self.account, True, fixed(20)),
            ("GET", "account/commission"): Route(self.commission, True, fixed(20)),
            ("POST", "order"): Route(self.new_order, True, fixed(1)),
            ("POST", "order/test"): Route(self.test_order, True,
                                          lambda p: 20 if p.get("computeCommissionRates") == "true" else 1),
            ("GET", "order"): Route(self.get_order, True, fixed(4)),
            ("DELETE", "order"): Route(self.cancel_order, True, fixed(1)),
            ("GET", "openOrders"): Route(self.open_orders, True, lambda p: 6 if "symbol" in p else 80),
            ("GET", "allOrders"): Route(self.all_orders, True, fixed(20)),
            ("GET", "myTrades"): Route(self.my_trades, True, lambda p: 5 if "orderId" in p else 20),
        }
        return {(method, v3 + path): route for (method, path), route in table.items()}

    # ----- market data -----
    async def ping(self, call: Call) -> Json:
        """GET /ping: {}."""
        return {}

    async def time(self, call: Call) -> Json:
        """GET /time."""
        return {"serverTime": call.server_ms}

    async def exchange_info(self, call: Call) -> Json:
        """GET /exchangeInfo, optionally for symbol, symbols or a symbolStatus."""
        chosen = await self._symbols(call.params)
        status = call.params.get("symbolStatus")
        return exchange_info([r for r in chosen if status in (None, r.status)], call.server_ms, self.weight_limit)

    async def klines(self, call: Call) -> list[list[Any]]:
        """GET /klines (and /uiKlines): 12-element arrays, the open candle last."""
        rules = await self._one_symbol(call.params)
        interval = mandatory(call.params, "interval")
        if interval not in INTERVAL_HOURS:
            raise ApiError(400, -1120, "Invalid interval.")
        start, end = opt_int(call.params, "startTime"), opt_int(call.params, "endTime")
        bars = await self._select(rules.symbol, interval, start, end, limit(call.params))
        return [kline_row(c) for c in bars]

    async def _select(self, symbol: str, interval: str, start: int | None, end: int | None, n: int) -> list[Candle]:
        """Binance's rules: from startTime the oldest n, else the newest n up to endTime (or now)."""
        size = timedelta(hours=INTERVAL_HOURS[interval])
        hi = self.clock.now() if end is None else at_ms(end)
        if start is None:
            return (await self.listing.candles(symbol, interval, hi - size * n, hi))[-n:]
        first = await self.listing.first_candle_time(symbol)
        if first is None:
            return []
        lo = max(at_ms(start), first - size)  # startTime=0 means the first candle ever (python-binance relies on it)
        return (await self.listing.candles(symbol, interval, lo, min(hi, lo + size * n)))[:n]

    async def avg_price(self, call: Call) -> Json:
        """GET /avgPrice (the live price stands in for the 5-minute mean)."""
        rules = await self._one_symbol(call.params)
        return {"mins": 5, "price": num(await self._last_price(rules.symbol)), "closeTime": call.server_ms}

    async def ticker_24hr(self, call: Call) -> Json | list[Json]:
        """GET /ticker/24hr: an object for one symbol, an array otherwise."""
        kind = call.params.get("type", "FULL")
        if kind not in ("FULL", "MINI"):
            raise ApiError(400, -1100, "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'.")
        now = self.clock.now()
        rows = [ticker_24hr(r, await self.listing.day(r.symbol, now), call.server_ms, kind == "MINI")
                for r in await self._symbols(call.params)]
        return rows[0] if "symbol" in call.params else rows

    async def ticker_price(self, call: Call) -> Json | list[Json]:
        """GET /ticker/price: an object for one symbol, an array otherwise."""
        live = await self.listing.prices()  # one price table per request, not one per symbol listed
        rows = [{"symbol": r.symbol, "price": num(await self._last_price(r.symbol, live))}
                for r in await self._symbols(call.params)]
        return rows[0] if "symbol" in call.params else rows

    async def book_ticker(self, call: Call) -> Json | list[Json]:
        """GET /ticker/bookTicker: the top of each book; an object for one symbol, else an array."""
        live, now = await self.listing.prices(), self.clock.now()
        rows = [{"symbol": r.symbol, **best_prices(await self.listing.book(r, await self._last_price(r.symbol, live),
                                                                          now, levels=1))}
                for r in await self._symbols(call.params)]
        return rows[0] if "symbol" in call.params else rows

    async def depth(self, call: Call) -> Json:
        """GET /depth: the book the orders match against, `limit` levels a side, prices and quantities as text."""
        rules = await self._one_symbol(call.params)
        levels = depth_limit(call.params)
        price = (await self.listing.prices()).get(rules.symbol)
        book = await self.listing.book(rules, price, self.clock.now(), levels) if price else None
        self._update_id += 1  # Binance's lastUpdateId only grows; one step per answer is enough here
        return {"lastUpdateId": self._update_id,
                "bids": [[num(lv.price), num(lv.qty)] for lv in (book.bids if book else ())],
                "asks": [[num(lv.price), num(lv.qty)] for lv in (book.asks if book else ())]}

    async def _last_price(self, symbol: str, live: dict[str, Decimal] | None = None) -> Decimal:
        """The live price, or for a symbol no longer trading its last close within a day (else 0)."""
        price = (live if live is not None else await self.listing.prices()).get(symbol)
        return price if price is not None else (await self.listing.day(symbol, self.clock.now())).close

    async def _symbols(self, params: Params) -> list[SymbolRules]:
        rules = await self.listing.rules()
        wanted = symbol_list(params)
        if wanted is None:
            return list(rules.values())
        if any(s not in rules for s in wanted):
            raise INVALID_SYMBOL
        return [rules[s] for s in wanted]

    async def _one_symbol(self, params: Params) -> SymbolRules:
        symbol = mandatory(params, "symbol")
        symbol_list({"symbol": symbol})  # its spelling checked (-1100) as for any symbol parameter
        rules = await self.listing.rule(symbol)
        if rules is None:
            raise INVALID_SYMBOL
        return rules

    # ----- account and orders -----
    async def account(self, call: Call) -> Json:
        """GET /account."""
        omit = call.params.get("omitZeroBalances") == "true"
        return account_json(call.owner(), self.engine.fee_rate, call.server_ms, omit)

    async def commission(self, call: Call) -> Json:
        """GET /account/commission."""
        rules = await self._one_symbol(call.params)
        rate, zero = num(self.engine.fee_rate), "0.00000000"
        return {"symbol": rules.symbol,
                "standardCommission": {"maker": rate, "taker": rate, "buyer": zero, "seller": zero},
                "specialCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
                "taxCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
                "discount": {"enabledForAccount": self.faults.bnb, "enabledForSymbol": True,
                             "discountAsset": "BNB", "discount": "0.25000000"}}

    async def new_order(self, call: Call) -> Json:
        """POST /order: a MARKET order, filled now (or partly, then EXPIRED)."""
        order, respond = self._parse_order(call.params)
        rules = await self._one_symbol(call.params)
        rejected = self.faults.take_reject()
        if rejected is not None:
            raise ApiError(400, *rejected)
        book, mid = await self._book(rules, order)
        how = Execution(self.faults.next_partial(), await self._bnb_price(rules) if self.faults.bnb else None)
        placed = self.engine.place(call.owner(), order, rules, book, mid, call.server_ms, how)
        if how.fraction is not None:
            self.faults.used_partial()
        return respond(placed)

    async def test_order(self, call: Call) -> Json:
        """POST /order/test: checks like a real order (filters included) but executes nothing nor checks balances."""
        order, _ = self._parse_order(call.params)
        rules = await self._one_symbol(call.params)
        self.engine.match(order, rules, *await self._book(rules, order))
        if call.params.get("computeCommissionRates") != "true":
            return {}
        rate, zero = num(self.engine.fee_rate), "0.00000000"
        return {"standardCommissionForOrder": {"maker": rate, "taker": rate},
                "specialCommissionForOrder": {"maker": zero, "taker": zero},
                "taxCommissionForOrder": {"maker": zero, "taker": zero},
                "discount": {"enabledForAccount": self.faults.bnb, "enabledForSymbol": True,
                             "discountAsset": "BNB", "discount": "0.25000000"}}

    def _parse_order(self, params: Params) -> tuple[MarketOrder, Callable[[SimOrder], Json]]:
        """A MARKET order by quantity or quoteOrderQty, and how to answer it."""
        symbol = mandatory(params, "symbol")
        side = mandatory(params, "side")
        if side not in ("BUY", "SELL"):
            raise ApiError(400, -1117, "Invalid side.")
        if mandatory(params, "type") != "MARKET":
            raise ApiError(400, -1116, "Invalid orderType.")
        if params.get("timeInForce"):  # a market order never rests, so Binance refuses a time in force
            raise ApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
        quantity, quote = amount(params, "quantity"), amount(params, "quoteOrderQty")
        if quantity is None and quote is None:
            raise ApiError(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
        if quantity is not None and quote is not None:
            raise ApiError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
        client_id = params.get("newClientOrderId") or secrets.token_hex(11)  # Binance makes up 22 characters
        if not _CLIENT_ID.match(client_id):
            raise ApiError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                                       "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
        respond = _RESPONSE_TYPES.get(params.get("newOrderRespType", "FULL"))
        if respond is None:
            raise ApiError(400, -1100, "Illegal characters found in parameter 'newOrderRespType'; legal range is "
                                       "'ACK, RESULT, FULL'.")
        return MarketOrder(symbol, Side(side), quantity, quote, client_id), respond

    async def _book(self, rules: SymbolRules, order: MarketOrder) -> tuple[Book, Decimal]:
        """The book to match against (as deep as GET /depth shows it: the deeper levels drawn only when the order
        reaches past the first 100) and its mid price; a symbol not TRADING (or without a price) refuses orders."""
        mid = (await self.listing.prices()).get(rules.symbol)
        if not rules.trading or mid is None or mid <= 0:
            raise MARKET_CLOSED
        book = await self.listing.book(rules, mid, self.clock.now())
        side = book.asks if order.side is Side.BUY else book.bids
        if walk(side, rules.step_size or EIGHT_DECIMALS, qty=order.quantity, quote=order.quote_qty).ran_out:
            book = await self.listing.book(rules, mid, self.clock.now(), levels=DEEPEST)
        return book, mid

    async def _bnb_price(self, rules: SymbolRules) -> Decimal:
        return (await self.listing.market.prices()).get(f"BNB{rules.quote}") or self.faults.bnb_price

    async def get_order(self, call: Call) -> Json:
        """GET /order by orderId and/or origClientOrderId (the newest of a reused id)."""
        return order_query(self._find(call, -2013, "Order does not exist."))

    async def cancel_order(self, call: Call) -> Json:
        """DELETE /order."""
        # Market orders are never open, so there is never anything to cancel: Binance says the same.
        self._find(call, -2011, "Unknown order sent.")
        raise ApiError(400, -2011, "Unknown order sent.")

    def _find(self, call: Call, code: int, missing: str) -> SimOrder:
        symbol = mandatory(call.params, "symbol")
        order_id, client_id = opt_int(call.params, "orderId"), call.params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                                       "empty/null!")
        found = self.engine.find(call.owner(), symbol, order_id, client_id)
        if found is None:
            raise ApiError(400, code, missing)
        return found

    async def open_orders(self, call: Call) -> list[Json]:
        """GET /openOrders: market orders never rest, so always []."""
        if "symbol" in call.params:
            await self._one_symbol(call.params)
        return []

    async def all_orders(self, call: Call) -> list[Json]:
        """GET /allOrders of a symbol: from orderId or startTime the oldest, else the newest (up to endTime)."""
        rules = await self._one_symbol(call.params)
        mine = [o for o in call.owner().orders if o.symbol == rules.symbol]
        return [order_query(o) for o in _page(mine, call.params, "orderId", lambda o: (o.order_id, o.time_ms))]

    async def my_trades(self, call: Call) -> list[Json]:
        """GET /myTrades of a symbol, optionally of one order: from fromId or startTime the oldest, else the newest."""
        rules = await self._one_symbol(call.params)
        order_id = opt_int(call.params, "orderId")
        trades = sorted((t for o in call.owner().orders if o.symbol == rules.symbol and order_id in (None, o.order_id)
                         for t in o.trades), key=lambda t: t.id)
        return [trade_json(t) for t in _page(trades, call.params, "fromId", lambda t: (t.id, t.time_ms))]


def _page(items: list[Any], params: Params, id_param: str, key: Callable[[Any], tuple[int, int]]) -> list[Any]:
    """Binance's history paging over items in id order: ids from id_param on, times within startTime..endTime;
    the oldest `limit` of those when id_param or startTime is given, else the most recent `limit`."""
    since, start, end = opt_int(params, id_param), opt_int(params, "startTime"), opt_int(params, "endTime")
    chosen = [item for item in items if (since is None or key(item)[0] >= since)
              and (start is None or key(item)[1] >= start) and (end is None or key(item)[1] <= end)]
    n = limit(params)
    return chosen[:n] if since is not None or start is not None else chosen[-n:]
