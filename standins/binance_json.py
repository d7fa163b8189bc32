"""Binance Spot JSON shapes for the local server: amounts as 8-decimal strings, ids, times and counts as ints."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from tradingbot.core.domain import QUOTE_UNIT, ZERO, Candle, SymbolRules
from .binance_book import Book, Level, book_of
from .binance_orders import Account, SimOrder, SimTrade

Json = dict[str, Any]
UNIX = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)
DAY_MS = 86_400_000
_TRADE_SIZE = Decimal(250)  # mean quote value of one synthetic trade, to derive trade counts from volume


class ApiError(Exception):
    """An error answer in Binance's shape: HTTP status plus {"code": ..., "msg": ...}."""

    def __init__(self, status: int, code: int, msg: str, retry_after: int | None = None):
        super().__init__(f"{status} {code}: {msg}")
        self.status, self.code, self.msg, self.retry_after = status, code, msg, retry_after

    def body(self) -> Json:
        return {"code": self.code, "msg": self.msg}


def num(x: Decimal) -> str:
    """Binance's fixed 8-decimal text: Decimal('0.001') -> '0.00100000'."""
    text = format(x, "f")
    point = text.find(".")
    places = 0 if point < 0 else len(text) - point - 1
    if places > 8:  # finer than Binance shows: round half up (amounts here are mostly whole 1e-8 units already)
        with localcontext(prec=60):
            text = format(x.quantize(QUOTE_UNIT, rounding=ROUND_HALF_UP), "f")
    else:  # padding with zeros is exact, and a klines answer formats eight numbers per candle
        text += ("" if places else ".") + "0" * (8 - places)
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # never "-0.00000000"


def ms(t: datetime) -> int:
    """Milliseconds since the Unix epoch."""
    return (t - UNIX) // ONE_MS


def at_ms(value: int) -> datetime:
    """The instant of a millisecond (or, above 1e14, microsecond) timestamp."""
    return UNIX + (timedelta(microseconds=value) if value > 10**14 else timedelta(milliseconds=value))


# ----- exchange info -----
def symbol_json(rules: SymbolRules) -> Json:
    """One exchangeInfo symbol, filters from the SymbolRules."""
    return {
        "symbol": rules.symbol, "status": rules.status,
        "baseAsset": rules.base, "baseAssetPrecision": 8, "quoteAsset": rules.quote, "quotePrecision": 8,
        "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["MARKET"],  # the only type this server fills; Binance lists what each symbol accepts
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False, "cancelReplaceAllowed": False, "amendAllowed": False,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": num(rules.tick_size), "maxPrice": "1000000.00000000",
             "tickSize": num(rules.tick_size)},
            {"filterType": "LOT_SIZE", "minQty": num(rules.min_qty), "maxQty": num(rules.max_qty),
             "stepSize": num(rules.step_size)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": num(rules.max_qty),
             "stepSize": "0.00000000"},
            {"filterType": "NOTIONAL", "minNotional": num(rules.min_notional), "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(symbols: list[SymbolRules], server_ms: int, weight_limit: int) -> Json:
    """The whole exchangeInfo answer."""
    return {
        "timezone": "UTC", "serverTime": server_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [], "symbols": [symbol_json(r) for r in symbols],
    }


# ----- klines and tickers -----
def half(x: Decimal) -> str:
    """Half of an amount, rounded down to 1e-8, as num() prints it: the synthetic taker-buy share."""
    if x < 0:  # never for a volume; the plain rule
        with localcontext(prec=60):
            return num((x / 2).quantize(QUOTE_UNIT, rounding=ROUND_DOWN))
    whole, units = divmod(int(x.scaleb(8)) // 2, 10**8)  # floor(floor(y) / 2) = floor(y / 2) for y >= 0
    return f"{whole}.{units:08d}"


def trade_stats(c: Candle) -> tuple[int, int, int]:
    """Trade count and first/last trade id of a candle, derived from its volume (-1 ids when no trades)."""
    count = int(c.quote_volume / _TRADE_SIZE) + (1 if c.volume > 0 else 0)
    first = ms(c.open_time) // 100  # grows with time, so later candles carry later ids
    return (count, first, first + count - 1) if count else (0, -1, -1)


def kline_row(c: Candle) -> list[Any]:
    """The 12-element REST kline array."""
    count = trade_stats(c)[0]
    return [ms(c.open_time), num(c.open), num(c.high), num(c.low), num(c.close), num(c.volume),
            ms(c.close_time), num(c.quote_volume), count, half(c.volume), half(c.quote_volume), "0"]


def kline_event(symbol: str, interval: str, c: Candle, final: bool, event_ms: int) -> Json:
    """A <symbol>@kline_<interval> payload whose k fields equal the REST kline of the same candle."""
    row = kline_row(c)
    _, first, last = trade_stats(c)
    k = {"t": row[0], "T": row[6], "s": symbol, "i": interval, "f": first, "L": last, "o": row[1], "c": row[4],
         "h": row[2], "l": row[3], "v": row[5], "n": row[8], "x": final, "q": row[7], "V": row[9], "Q": row[10],
         "B": "0"}
    return {"e": "kline", "E": event_ms, "s": symbol, "k": k}


@dataclass(frozen=True)
class DayStats:
    """A symbol's rolling 24 hours, from its hourly candles."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    count: int
    first_id: int
    last_id: int

    @classmethod
    def of(cls, candles: list[Candle]) -> DayStats:
        """Aggregate hourly candles (none: an all-zero day, as for a long-halted symbol)."""
        if not candles:
            return cls(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, 0, -1, -1)
        stats = [trade_stats(c) for c in candles]
        ids = [s for s in stats if s[0]]
        return cls(candles[0].open, max(c.high for c in candles), min(c.low for c in candles), candles[-1].close,
                   sum((c.volume for c in candles), ZERO), sum((c.quote_volume for c in candles), ZERO),
                   sum(s[0] for s in stats), ids[0][1] if ids else -1, ids[-1][2] if ids else -1)


def ticker_24hr(rules: SymbolRules, day: DayStats, now_ms: int, mini: bool = False) -> Json:
    """A GET /ticker/24hr entry (type FULL, or MINI)."""
    window = {"openTime": now_ms - DAY_MS, "closeTime": now_ms, "firstId": day.first_id, "lastId": day.last_id,
              "count": day.count}
    prices = {"openPrice": num(day.open), "highPrice": num(day.high), "lowPrice": num(day.low),
              "lastPrice": num(day.close), "volume": num(day.volume), "quoteVolume": num(day.quote_volume)}
    if mini:
        return {"symbol": rules.symbol, **prices, **window}
    change = day.close - day.open
    with localcontext(prec=60):
        percent = (change * 100 / day.open).quantize(Decimal("0.001")) if day.open else Decimal("0.000")
        average = day.quote_volume / day.volume if day.volume else day.close
    book = best_prices(book_of(rules, day.close, day.quote_volume, levels=1))
    return {"symbol": rules.symbol, "priceChange": num(change), "priceChangePercent": format(percent, "f"),
            "weightedAvgPrice": num(average), "prevClosePrice": num(day.open), "lastPrice": num(day.close),
            "lastQty": book["bidQty"], **book, **{k: v for k, v in prices.items() if k != "lastPrice"}, **window}


def best_prices(book: Book) -> Json:
    """bidPrice, bidQty, askPrice, askQty: the top of the book (zeros for a side a priceless symbol lacks)."""
    bid, ask = (side[0] if side else Level(ZERO, ZERO) for side in (book.bids, book.asks))
    return {"bidPrice": num(bid.price), "bidQty": num(bid.qty), "askPrice": num(ask.price), "askQty": num(ask.qty)}


def mini_ticker_event(symbol: str, day: DayStats, event_ms: int) -> Json:
    """A 24hrMiniTicker stream payload."""
    return {"e": "24hrMiniTicker", "E": event_ms, "s": symbol, "c": num(day.close), "o": num(day.open),
            "h": num(day.high), "l": num(day.low), "v": num(day.volume), "q": num(day.quote_volume)}


# ----- orders, trades, account -----
def order_ack(o: SimOrder) -> Json:
    """newOrderRespType=ACK."""
    return {"symbol": o.symbol, "orderId": o.order_id, "orderListId": -1, "clientOrderId": o.client_order_id,
            "transactTime": o.time_ms}


def order_result(o: SimOrder) -> Json:
    """newOrderRespType=RESULT: the ACK plus amounts and status."""
    return {**order_ack(o), "price": "0.00000000", "origQty": num(o.orig_qty), "executedQty": num(o.executed_qty),
            "origQuoteOrderQty": num(o.orig_quote_qty or ZERO), "cummulativeQuoteQty": num(o.cumulative_quote),
            "status": o.status, "timeInForce": "GTC", "type": "MARKET", "side": o.side.value,
            "workingTime": o.time_ms, "selfTradePreventionMode": "EXPIRE_MAKER"}


def order_full(o: SimOrder) -> Json:
    """newOrderRespType=FULL (the MARKET default): the RESULT plus one entry per fill."""
    fills = [{"price": num(t.price), "qty": num(t.qty), "commission": num(t.commission),
              "commissionAsset": t.commission_asset, "tradeId": t.id} for t in o.trades]
    return {**order_result(o), "fills": fills}


def order_query(o: SimOrder) -> Json:
    """GET /order (and allOrders) shape."""
    result = order_result(o)
    del result["transactTime"]
    return {**result, "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": o.time_ms,
            "updateTime": o.time_ms, "isWorking": True}


def trade_json(t: SimTrade) -> Json:
    """A GET /myTrades entry; every fill of a market order is the taker side."""
    return {"symbol": t.symbol, "id": t.id, "orderId": t.order_id, "orderListId": -1, "price": num(t.price),
            "qty": num(t.qty), "quoteQty": num(t.quote_qty), "commission": num(t.commission),
            "commissionAsset": t.commission_asset, "time": t.time_ms, "isBuyer": t.side.value == "BUY",
            "isMaker": False, "isBestMatch": True}


def account_json(account: Account, fee_rate: Decimal, now_ms: int, omit_zero: bool) -> Json:
    """GET /account: balances as strings, commission both as basis points and as a rate."""
    bps = int(fee_rate * 10000)
    balances = [{"asset": a, "free": num(v), "locked": "0.00000000"}
                for a, v in sorted(account.balances.items()) if v or not omit_zero]
    return {"makerCommission": bps, "takerCommission": bps, "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": num(fee_rate), "taker": num(fee_rate), "buyer": "0.00000000",
                                "seller": "0.00000000"},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": now_ms,
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": _uid(account.api_key)}


def _uid(api_key: str) -> int:
    """A stable made-up user id per key."""
    return sum(ord(ch) * 31**i for i, ch in enumerate(api_key)) % 900_000_000 + 100_000_000
