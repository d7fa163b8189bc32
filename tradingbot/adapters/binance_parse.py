"""Binance JSON → domain types. Pure functions; every number arrives as a string and stays a Decimal."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core.book_walk import BookLevel, OrderBook
from ..core.domain import ZERO, Candle, Fill, OrderResult, OrderStatus, Side, SymbolRules
from .kline_store import from_ms


def symbol_rules(info: dict[str, Any]) -> SymbolRules:
    """One exchangeInfo symbol; market orders obey LOT_SIZE, MARKET_LOT_SIZE and (MIN_)NOTIONAL."""
    filters = {f["filterType"]: f for f in info.get("filters", [])}
    lot = filters.get("LOT_SIZE", {})
    market_lot = filters.get("MARKET_LOT_SIZE", {})
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    max_qty = [Decimal(f["maxQty"]) for f in (lot, market_lot) if Decimal(f.get("maxQty", "0")) > 0]
    status = info["status"] if info.get("isSpotTradingAllowed", True) else "BREAK"
    return SymbolRules(
        symbol=info["symbol"], base=info["baseAsset"], quote=info["quoteAsset"], status=status,
        step_size=Decimal(lot.get("stepSize", "0")), min_qty=Decimal(lot.get("minQty", "0")),
        max_qty=min(max_qty) if max_qty else ZERO,
        min_notional=Decimal(notional.get("minNotional", "0")),
        tick_size=Decimal(filters.get("PRICE_FILTER", {}).get("tickSize", "0.00000001")),
    )


def candle(k: list[Any]) -> Candle:
    """A 12-element kline array."""
    return Candle(
        open_time=from_ms(int(k[0])), close_time=from_ms(int(k[6])), open=Decimal(k[1]), high=Decimal(k[2]),
        low=Decimal(k[3]), close=Decimal(k[4]), volume=Decimal(k[5]), quote_volume=Decimal(k[7]),
    )


def stream_candle(k: dict[str, Any]) -> Candle:
    """The `k` object of a kline stream event."""
    return Candle(
        open_time=from_ms(int(k["t"])), close_time=from_ms(int(k["T"])), open=Decimal(k["o"]), high=Decimal(k["h"]),
        low=Decimal(k["l"]), close=Decimal(k["c"]), volume=Decimal(k["v"]), quote_volume=Decimal(k["q"]),
    )


def book_top(row: dict[str, Any]) -> OrderBook:
    """A GET /ticker/bookTicker answer as a one-level book; a side priced 0 (nothing resting there) is empty."""
    def side(price: str, qty: str) -> tuple[BookLevel, ...]:
        return (BookLevel(Decimal(price), Decimal(qty)),) if Decimal(price) > 0 else ()
    return OrderBook(row["symbol"], side(row["bidPrice"], row["bidQty"]), side(row["askPrice"], row["askQty"]), 1)


FINAL = frozenset({"FILLED", "EXPIRED", "EXPIRED_IN_MATCH", "CANCELED", "REJECTED"})


def order_status(order: dict[str, Any]) -> OrderStatus:
    """A market order ends FILLED, or EXPIRED/CANCELED with or without a part filled."""
    text = order["status"]
    if text == "FILLED":
        return OrderStatus.FILLED
    if text not in FINAL:  # NEW / PARTIALLY_FILLED: still working; look again later
        return OrderStatus.SENDING
    return OrderStatus.PARTIAL if Decimal(order.get("executedQty", "0")) > 0 else OrderStatus.REJECTED


def order_result(order: dict[str, Any], fills: tuple[Fill, ...]) -> OrderResult:
    return OrderResult(
        client_order_id=order["clientOrderId"], symbol=order["symbol"], side=Side(order["side"]),
        status=order_status(order), exchange_order_id=str(order["orderId"]), fills=fills,
    )


def response_fills(order: dict[str, Any], time_ms: int) -> list[dict[str, Any]]:
    """The `fills` of a FULL order response in myTrades' shape, so one parser reads both."""
    return [{"price": f["price"], "qty": f["qty"], "commission": f["commission"],
             "commissionAsset": f["commissionAsset"], "id": f["tradeId"], "time": time_ms} for f in order["fills"]]


def fill(trade: dict[str, Any], client_order_id: str, symbol: str, side: Side, fee_quote: Decimal) -> Fill:
    """One trade (a FULL response fill or a myTrades row) with its fee valued in the account's quote."""
    return Fill(
        client_order_id=client_order_id, symbol=symbol, side=side, price=Decimal(trade["price"]),
        quantity=Decimal(trade["qty"]), commission=Decimal(trade["commission"]),
        commission_asset=trade["commissionAsset"], fee_quote=fee_quote, time=from_ms(int(trade["time"])),
        trade_id=str(trade["id"]),
    )
