"""The local Binance, driven over real HTTP and WebSocket by the real python-binance 1.0.37 client."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yarl
from binance import AsyncClient, BinanceSocketManager
from binance.exceptions import BinanceAPIException

from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.clock import ManualClock, OffsetClock
from standins.binance_api import BinanceSim
from standins.binance_book import Book

D = Decimal
START = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
KEY, SECRET = "sim-key-1", "sim-secret-1"
CASH = D(10000)


def run(scenario, clock=None, deposit: dict[str, Decimal] | None = None, **options: Any) -> Any:
    """Run scenario(sim, client) against a fresh server on a small synthetic market, then stop both."""
    async def main():
        clk = clock or OffsetClock(START)  # a running clock, so the client's signed timestamps stay fresh
        sim = BinanceSim(SyntheticMarket(clk, seed=7, n_symbols=60), clk, stream_interval=0.05, **options)
        sim.add_account(KEY, SECRET, deposit or {"USDT": CASH})
        async with sim:
            client = await connect(sim)
            try:
                return await scenario(sim, client)
            finally:
                await client.close_connection()
    return asyncio.run(main())


async def connect(sim: BinanceSim, key: str = KEY, secret: str = SECRET, **kwargs: Any) -> AsyncClient:
    """The real AsyncClient pointed at the server (create() pings and syncs its time offset)."""
    local = type("LocalClient", (AsyncClient,), {"API_URL": sim.rest_url})
    return await local.create(key, secret, **kwargs)


def sockets(sim: BinanceSim, client: AsyncClient) -> BinanceSocketManager:
    return type("LocalBSM", (BinanceSocketManager,), {"STREAM_URL": sim.stream_url})(client)


async def refused(call) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as info:
        await call
    return info.value


def total(fills: list[dict], key: str) -> Decimal:
    return sum((D(f[key]) for f in fills), D(0))


async def receive(stream, predicate, timeout: float = 5.0) -> dict:
    """The first stream message matching predicate (errors and other messages are skipped)."""
    async def loop():
        while True:
            msg = await stream.recv()
            if predicate(msg):
                return msg
    return await asyncio.wait_for(loop(), timeout)


# ----- market data -----
def test_exchange_info_shows_each_symbols_filters_and_weight():
    async def scenario(sim, client):
        info = await client.get_exchange_info()
        weight = client.response.headers["X-MBX-USED-WEIGHT-1M"]
        one = await client._get("exchangeInfo", data={"symbol": "BTCUSDT"})
        unknown = await refused(client._get("exchangeInfo", data={"symbol": "NOPEUSDT"}))
        return info, weight, one, unknown
    info, weight, one, unknown = run(scenario)
    assert info["rateLimits"][0] == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                                     "limit": 6000}
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    assert one["symbols"] == [btc] and weight == "22"  # ping 1 + time 1 + exchangeInfo 20
    assert (btc["status"], btc["baseAsset"], btc["quoteAsset"], btc["baseAssetPrecision"]) == ("TRADING", "BTC",
                                                                                                "USDT", 8)
    assert btc["quoteOrderQtyMarketAllowed"] is True and btc["isSpotTradingAllowed"] is True
    assert "MARKET" in btc["orderTypes"] and btc["permissionSets"] == [["SPOT"]]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["LOT_SIZE"] == {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000000.00000000",
                                   "stepSize": "0.00001000"}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000" and "MARKET_LOT_SIZE" in filters
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000" and filters["NOTIONAL"]["applyMinToMarket"] is True
    assert filters["NOTIONAL"]["avgPriceMins"] == 5
    assert (unknown.status_code, unknown.code, unknown.message) == (400, -1121, "Invalid symbol.")


def test_a_testnet_like_server_lists_only_the_chosen_symbols():
    async def scenario(sim, client):
        info = await client.get_exchange_info()
        return [s["symbol"] for s in info["symbols"]], await refused(client.get_klines(symbol="ETHUSDT",
                                                                                         interval="1h"))
    names, err = run(scenario, listed={"BTCUSDT", "USDCUSDT"})
    assert sorted(names) == ["BTCUSDT", "USDCUSDT"] and err.code == -1121


def test_klines_follow_binances_selection_rules_and_include_the_open_candle():
    async def scenario(sim, client):
        now_ms = (await client.get_server_time())["serverTime"]
        latest = await client.get_klines(symbol="BTCUSDT", interval="1h", limit=5)
        earliest = await client.get_klines(symbol="BTCUSDT", interval="1h", startTime=0, limit=1)
        late = await client.get_klines(symbol="BTCUSDT", interval="4h", endTime=latest[0][0], limit=3)
        start = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
        daily = await client.get_historical_klines("BTCUSDT", "1d", start_str=start)
        capped = await client.get_klines(symbol="BTCUSDT", interval="1h", limit=5000)
        bad = await refused(client.get_klines(symbol="BTCUSDT", interval="1m"))
        first = await sim.market.first_candle_time("BTCUSDT")
        return now_ms, latest, earliest, late, daily, capped, bad, first
    now_ms, latest, earliest, late, daily, capped, bad, first = run(scenario)
    assert len(latest) == 5 and all(len(row) == 12 for row in latest)
    assert [b[0] - a[0] for a, b in zip(latest, latest[1:])] == [3_600_000] * 4
    assert latest[-1][0] <= now_ms < latest[-1][6] == latest[-1][0] + 3_599_999  # still open
    assert all(isinstance(v, str) and "." in v for v in latest[0][1:6]) and isinstance(latest[0][8], int)
    assert earliest[0][0] == first.timestamp() * 1000
    assert len(late) == 3 and late[-1][0] <= latest[0][0]
    assert len(daily) == 60 and daily[0][0] == int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
    assert len(capped) == 1000
    assert (bad.code, bad.message) == (-1120, "Invalid interval.")


def test_tickers_accept_raw_and_percent_encoded_symbol_lists_with_binances_weights():
    async def scenario(sim, client):
        one = await client.get_ticker(symbol="BTCUSDT")
        w_one = client.response.headers["X-MBX-USED-WEIGHT-1M"]
        pair = await client.get_ticker(symbols='["BTCUSDT","ETHUSDT"]')  # AsyncClient sends the raw characters
        w_pair = client.response.headers["X-MBX-USED-WEIGHT-1M"]
        every = await client.get_ticker()
        w_all = client.response.headers["X-MBX-USED-WEIGHT-1M"]
        encoded = yarl.URL(f"{sim.rest_url}/v3/ticker/price?symbols=%5B%22BTCUSDT%22,%22ETHUSDT%22%5D", encoded=True)
        async with aiohttp.ClientSession() as session, session.get(encoded) as resp:
            prices = await resp.json()
        avg = await client.get_avg_price(symbol="ETHUSDT")
        return one, pair, every, prices, avg, [int(w) for w in (w_one, w_pair, w_all)]
    one, pair, every, prices, avg, weights = run(scenario)
    assert weights[1] - weights[0] == 2 and weights[2] - weights[1] == 80
    assert [t["symbol"] for t in pair] == ["BTCUSDT", "ETHUSDT"] and pair[0]["symbol"] == one["symbol"]
    assert len(every) > 40 and all(isinstance(t["count"], int) for t in every)
    assert D(one["lastPrice"]) > 0 and D(one["highPrice"]) >= D(one["lastPrice"]) >= D(one["lowPrice"])
    assert D(one["askPrice"]) - D(one["bidPrice"]) == D("0.01") and one["closeTime"] - one["openTime"] == 86_400_000
    assert [p["symbol"] for p in prices] == ["BTCUSDT", "ETHUSDT"] and D(prices[1]["price"]) > 0
    assert avg["mins"] == 5 and D(avg["price"]) > 0


# ----- account and orders -----
def test_account_shows_string_balances_and_commission_rates():
    account = run(lambda sim, client: client.get_account())
    assert account["balances"] == [{"asset": "USDT", "free": "10000.00000000", "locked": "0.00000000"}]
    assert account["commissionRates"]["taker"] == "0.00100000" and account["takerCommission"] == 10
    assert account["canTrade"] is True and account["accountType"] == "SPOT"


def fee(amount: Decimal, rate: str = "0.001") -> Decimal:
    """Binance's commission: the amount received times the rate, to 8 decimals."""
    return (amount * D(rate)).quantize(D("0.00000001"), rounding=ROUND_HALF_UP)


async def thinnest_book(sim: BinanceSim, clock: ManualClock, levels: int = 100) -> Book:
    """The book of the listed symbol that traded least in the last day: levels a 1000 USDT order walks through."""
    rules, prices = await sim.listing.rules(), await sim.listing.prices()
    volumes = {s: (await sim.listing.day(s, clock.now())).quote_volume for s in prices if rules[s].trading}
    symbol = min(volumes, key=volumes.__getitem__)
    return await sim.listing.book(rules[symbol], prices[symbol], clock.now(), levels)


def test_a_quote_buy_walks_the_asks_and_a_quantity_sell_the_bids_one_trade_per_level():
    clock = ManualClock(START)  # one book for the whole scenario

    async def scenario(sim, client):
        book = await thinnest_book(sim, clock)
        buy = await client.order_market_buy(symbol=book.symbol, quoteOrderQty="1000")
        after_buy = sim.balances(KEY)
        base = next(a for a in after_buy if a != "USDT")
        step = (await sim.listing.rules())[book.symbol].step_size
        held = (after_buy[base] / step).to_integral_value(ROUND_DOWN) * step
        sell = await client.order_market_sell(symbol=book.symbol, quantity=format(held, "f"))
        return book, base, step, buy, after_buy, sell, sim.balances(KEY)
    book, base, step, buy, after_buy, sell, after_sell = run(scenario, clock=clock, check_timestamps=False)
    fills = buy["fills"]
    taken = [(D(f["price"]), D(f["qty"])) for f in fills]
    assert buy["status"] == "FILLED" and buy["origQuoteOrderQty"] == "1000.00000000" and buy["price"] == "0.00000000"
    assert len(fills) >= 2 and [p for p, _ in taken] == [a.price for a in book.asks[:len(fills)]]
    assert [q for _, q in taken[:-1]] == [a.qty for a in book.asks[:len(fills) - 1]]  # each level emptied in turn
    spent = sum((p * q for p, q in taken), D(0))
    assert spent <= 1000 < spent + step * taken[-1][0]  # not one step more fits
    assert D(buy["cummulativeQuoteQty"]) == spent.quantize(D("0.00000001"), rounding=ROUND_HALF_UP)
    assert D(buy["executedQty"]) == total(fills, "qty") and all(q % step == 0 for _, q in taken)
    assert all(f["commissionAsset"] == base and D(f["commission"]) == fee(D(f["qty"])) for f in fills)
    assert after_buy == {base: D(buy["executedQty"]) - total(fills, "commission"), "USDT": CASH - spent}
    sold = [(D(f["price"]), D(f["qty"])) for f in sell["fills"]]
    assert sell["status"] == "FILLED" and [p for p, _ in sold] == [b.price for b in book.bids[:len(sold)]]
    assert all(p < book.asks[0].price for p, _ in sold) and len(sold) >= 2
    proceeds = sum((p * q for p, q in sold), D(0))
    assert all(f["commissionAsset"] == "USDT" and D(f["commission"]) == fee(D(f["price"]) * D(f["qty"]))
               for f in sell["fills"])
    assert after_sell == {**({base: after_buy[base] - D(sell["executedQty"])} if after_buy[base] > D(
        sell["executedQty"]) else {}), "USDT": after_buy["USDT"] + proceeds - total(sell["fills"], "commission")}


def test_a_sell_bigger_than_the_whole_book_takes_every_bid_and_expires():
    clock = ManualClock(START)

    async def scenario(sim, client):
        book = await thinnest_book(sim, clock, levels=5000)  # as deep as GET /depth shows it
        base = (await sim.listing.rules())[book.symbol].base
        everything = sum(b.qty for b in book.bids)
        sim.add_account(KEY, SECRET, {base: everything * 2})
        return book, await client.order_market_sell(symbol=book.symbol, quantity=format(everything * 2, "f"))
    book, order = run(scenario, clock=clock, check_timestamps=False)
    assert order["status"] == "EXPIRED" and D(order["origQty"]) == 2 * D(order["executedQty"])
    assert [(D(f["price"]), D(f["qty"])) for f in order["fills"]] == [(b.price, b.qty) for b in book.bids]


def test_with_bnb_fees_on_commission_is_paid_in_bnb_at_a_discount():
    async def scenario(sim, client):
        sim.faults.bnb_fees(True, price=D(500))
        return await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="100"), sim.balances(KEY)
    order, balances = run(scenario, deposit={"USDT": CASH, "BNB": D(1)})
    (fill,) = order["fills"]
    value = D(order["cummulativeQuoteQty"])
    assert fill["commissionAsset"] == "BNB" and D(fill["commission"]) == fee(value / 500, "0.00075")
    assert balances == {"BNB": 1 - D(fill["commission"]), "ETH": D(order["executedQty"]), "USDT": CASH - value}


def test_orders_and_trades_are_found_by_client_order_id_and_unknown_ones_are_not():
    async def scenario(sim, client):
        placed = await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50", newClientOrderId="r1-B-ETH",
                                               newOrderRespType="RESULT")
        found = await client.get_order(symbol="ETHUSDT", origClientOrderId="r1-B-ETH")
        trades = await client.get_my_trades(symbol="ETHUSDT", orderId=placed["orderId"])
        missing = await refused(client.get_order(symbol="ETHUSDT", origClientOrderId="never-sent"))
        cancel = await refused(client.cancel_order(symbol="ETHUSDT", origClientOrderId="r1-B-ETH"))
        return placed, found, trades, missing, cancel, await client.get_open_orders(symbol="ETHUSDT")
    placed, found, trades, missing, cancel, open_orders = run(scenario)
    assert "fills" not in placed and placed["status"] == "FILLED"
    assert (found["orderId"], found["clientOrderId"], found["status"]) == (placed["orderId"], "r1-B-ETH", "FILLED")
    assert found["executedQty"] == placed["executedQty"] and found["cummulativeQuoteQty"] == placed[
        "cummulativeQuoteQty"]
    (trade,) = trades
    assert set(trade) == {"symbol", "id", "orderId", "orderListId", "price", "qty", "quoteQty", "commission",
                          "commissionAsset", "time", "isBuyer", "isMaker", "isBestMatch"}
    assert trade["isBuyer"] is True and trade["qty"] == placed["executedQty"]
    assert (missing.code, missing.message) == (-2013, "Order does not exist.")
    assert (cancel.code, cancel.message) == (-2011, "Unknown order sent.") and open_orders == []


def test_a_reused_client_order_id_trades_again_once_the_first_order_filled():
    async def scenario(sim, client):
        first = await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="100", newClientOrderId="same-id")
        second = await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="100", newClientOrderId="same-id")
        latest = await client.get_order(symbol="ETHUSDT", origClientOrderId="same-id")
        return first, second, latest, sim.orders(KEY), sim.balances(KEY)
    first, second, latest, orders, balances = run(scenario)
    assert first["orderId"] != second["orderId"] and latest["orderId"] == second["orderId"]
    assert [o["clientOrderId"] for o in orders] == ["same-id", "same-id"]  # a blind resend buys twice
    spent = D(first["cummulativeQuoteQty"]) + D(second["cummulativeQuoteQty"])
    assert balances["USDT"] == CASH - spent


def test_signed_requests_need_the_right_key_signature_and_a_fresh_timestamp():
    async def scenario(sim, client):
        wrong_secret = await connect(sim, KEY, "not-the-secret")
        wrong_key = await connect(sim, "nobody", SECRET)
        try:
            bad_sig = await refused(wrong_secret.get_account())
            bad_key = await refused(wrong_key.get_account())
        finally:
            await wrong_secret.close_connection()
            await wrong_key.close_connection()
        client.timestamp_offset -= 15_000  # older than python-binance's recvWindow of 10 s
        stale = await refused(client.get_account())
        client.timestamp_offset += 17_000
        ahead = await refused(client.get_account())
        client.timestamp_offset -= 2_000
        sim.faults.skew_clock(30_000)
        skewed = await refused(client.get_account())
        server = (await client.get_server_time())["serverTime"]
        client.timestamp_offset = server - int(datetime.now(timezone.utc).timestamp() * 1000)  # resync
        return bad_sig, bad_key, stale, ahead, skewed, await client.get_account()
    bad_sig, bad_key, stale, ahead, skewed, account = run(scenario)
    assert (bad_sig.status_code, bad_sig.code, bad_sig.message) == (400, -1022,
                                                                    "Signature for this request is not valid.")
    assert (bad_key.code, bad_key.message) == (-2015, "Invalid API-key, IP, or permissions for action.")
    assert (stale.code, stale.message) == (-1021, "Timestamp for this request is outside of the recvWindow.")
    assert ahead.code == -1021 and skewed.code == -1021 and account["balances"]


def test_orders_breaking_a_filter_or_the_balance_are_rejected_with_binances_codes():
    async def scenario(sim, client):
        errors = [await refused(call) for call in (
            client.order_market_buy(symbol="BTCUSDT", quantity="0.000015"),
            client.order_market_buy(symbol="BTCUSDT", quoteOrderQty="1"),
            client.order_market_buy(symbol="BTCUSDT", quoteOrderQty="20000"),
            client.order_market_sell(symbol="ETHUSDT", quantity="1"),
            client.order_market_buy(symbol="BTCUSDT", quantity=0.00001),  # a float goes out as 1e-05
            client.order_market_buy(symbol="NOPEUSDT", quantity="1"),
            client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET"),
        )]
        test_ok = await client.create_test_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
        test_bad = await refused(client.create_test_order(symbol="BTCUSDT", side="BUY", type="MARKET",
                                                          quantity="0.00001"))
        return errors, test_ok, test_bad, sim.orders(KEY)
    errors, test_ok, test_bad, orders = run(scenario)
    assert [(e.code, e.message) for e in errors[:4]] == [
        (-1013, "Filter failure: LOT_SIZE"), (-1013, "Filter failure: NOTIONAL"),
        (-2010, "Account has insufficient balance for requested action."),
        (-2010, "Account has insufficient balance for requested action."),
    ]
    assert [e.code for e in errors[4:]] == [-1100, -1121, -1102]
    assert test_ok == {} and (test_bad.code, test_bad.message) == (-1013, "Filter failure: NOTIONAL")
    assert orders == []


def test_a_symbol_in_break_refuses_orders_until_it_trades_again():
    async def scenario(sim, client):
        sim.faults.set_status("ETHUSDT", "BREAK")
        info = await client._get("exchangeInfo", data={"symbol": "ETHUSDT"})
        closed = await refused(client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50"))
        sim.faults.set_status("ETHUSDT", "TRADING")
        return info["symbols"][0]["status"], closed, await client.order_market_buy(symbol="ETHUSDT",
                                                                                   quoteOrderQty="50")
    status, closed, order = run(scenario)
    assert status == "BREAK" and (closed.code, closed.message) == (-2010, "Market is closed.")
    assert order["status"] == "FILLED"


# ----- weight and faults -----
def test_weight_over_the_limit_gets_429_then_an_ip_ban_418():
    clock = ManualClock(START)

    async def scenario(sim, client):
        used = [sim.used_weight]
        while sim.used_weight + 20 <= 100:
            await client.get_exchange_info()
            used.append(int(client.response.headers["X-MBX-USED-WEIGHT-1M"]))
        limited = [await refused(client.get_exchange_info()) for _ in range(3)]
        banned = await refused(client.get_exchange_info())
        clock.advance(timedelta(minutes=1))
        still = await refused(client.ping())
        clock.advance(timedelta(minutes=1, seconds=1))
        await client.ping()
        return used, limited, banned, still, sim.requests
    used, limited, banned, still, log = run(scenario, clock=clock, weight_limit=100)
    assert used == [2, 22, 42, 62, 82]
    assert {(e.status_code, e.code) for e in limited} == {(429, -1003)}
    assert limited[0].response.headers["Retry-After"] == "60"  # the clock sits at the start of a minute
    assert "request weight per minute is 100" in limited[0].message
    assert (banned.status_code, banned.code, banned.response.headers["Retry-After"]) == (418, -1003, "120")
    assert still.status_code == 418 and still.response.headers["Retry-After"] == "60"
    assert [r.status for r in log[-6:]] == [429, 429, 429, 418, 418, 200]


def test_gateway_failures_say_nothing_about_execution():
    async def scenario(sim, client):
        sim.faults.fail_next(1, 503, method="POST")
        unavailable = await refused(client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50",
                                                            newClientOrderId="not-run"))
        sim.faults.fail_next(1, 503, method="POST", execute=True)
        unknown = await refused(client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50",
                                                        newClientOrderId="did-run"))
        found = await client.get_order(symbol="ETHUSDT", origClientOrderId="did-run")
        sim.faults.reject_next(-2010, "Order would immediately trigger.")
        rejected = await refused(client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50"))
        return unavailable, unknown, found, rejected, sim.orders(KEY)
    unavailable, unknown, found, rejected, orders = run(scenario)
    assert (unavailable.status_code, unavailable.code) == (503, -1008)
    assert (unknown.status_code, unknown.code) == (503, -1007) and found["status"] == "FILLED"
    assert (rejected.code, rejected.message) == (-2010, "Order would immediately trigger.")
    assert [o["clientOrderId"] for o in orders] == ["did-run"]


def test_a_hung_request_times_out_the_client_and_is_not_executed():
    async def scenario(sim, client):
        sim.faults.hang_next(1)
        with pytest.raises(asyncio.TimeoutError):
            await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50", newClientOrderId="hung")
        missing = await refused(client.get_order(symbol="ETHUSDT", origClientOrderId="hung"))
        return missing, sim.orders(KEY), sim.requests
    client_options = {"requests_params": {"timeout": 0.5}}

    async def with_short_timeout(sim, client):
        short = await connect(sim, **client_options)
        try:
            return await scenario(sim, short)
        finally:
            await short.close_connection()
    missing, orders, log = run(with_short_timeout)
    assert missing.code == -2013 and orders == []
    assert ("POST", "/api/v3/order", 0, 0) in log


def test_a_lost_answer_hides_an_executed_order_that_a_lookup_then_finds():
    async def scenario(sim, client):
        sim.faults.lose_response_next()
        with pytest.raises(aiohttp.ClientError):
            await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="50", newClientOrderId="lost-1")
        return await client.get_order(symbol="ETHUSDT", origClientOrderId="lost-1"), sim.orders(KEY)
    found, orders = run(scenario)
    assert found["status"] == "FILLED" and [o["clientOrderId"] for o in orders] == ["lost-1"]


def test_a_thin_book_fills_part_of_a_market_order_which_then_expires():
    async def scenario(sim, client):
        sim.faults.partial_next(D("0.4"))
        order = await client.order_market_sell(symbol="ETHUSDT", quantity="1.00001")
        return order, sim.balances(KEY)
    order, balances = run(scenario, deposit={"USDT": CASH, "ETH": D(2)})
    assert order["status"] == "EXPIRED" and order["origQty"] == "1.00001000" and order["executedQty"] == "0.40000000"
    assert balances["ETH"] == D("1.6")
    assert balances["USDT"] == CASH + D(order["cummulativeQuoteQty"]) - total(order["fills"], "commission")


# ----- streams -----
def test_the_all_symbols_mini_ticker_stream_lists_every_trading_symbol():
    async def scenario(sim, client):
        async with sockets(sim, client).miniticker_socket() as stream:
            msg = await receive(stream, lambda m: isinstance(m, list))
            (conn,) = sim.streams.connections
        return msg, sorted(await sim.listing.prices()), list(conn.subs)
    msg, trading, names = run(scenario)
    assert names == ["!miniTicker@arr@1000ms"]  # the name python-binance puts in /ws/<name>
    assert sorted(t["s"] for t in msg) == trading
    assert set(msg[0]) == {"e", "E", "s", "c", "o", "h", "l", "v", "q"} and msg[0]["e"] == "24hrMiniTicker"
    assert all(isinstance(msg[0][k], str) for k in "cohlvq")


def test_kline_streams_send_each_closed_bar_once_with_the_rest_klines_values():
    clock = ManualClock(START)

    async def scenario(sim, client):
        streams = ["btcusdt@kline_1h", "ethusdt@kline_1h"]
        async with sockets(sim, client).multiplex_socket(streams) as stream:
            first = await receive(stream, lambda m: m.get("stream") == "ethusdt@kline_1h")
            clock.advance(timedelta(hours=3))
            finals: dict[str, list[dict]] = {name: [] for name in streams}
            while any(len(v) < 3 for v in finals.values()):
                msg = await receive(stream, lambda m: m.get("data", {}).get("k", {}).get("x"))
                finals[msg["stream"]].append(msg["data"]["k"])
            after = await receive(stream, lambda m: "data" in m)
        rest = {k["t"]: (await client.get_klines(symbol=k["s"], interval="1h", startTime=k["t"], limit=1))[0]
                for k in finals["btcusdt@kline_1h"]}
        return first, finals, after, rest
    first, finals, after, rest = run(scenario, clock=clock)
    assert first["data"]["k"]["x"] is False and first["data"]["s"] == "ETHUSDT"
    btc = finals["btcusdt@kline_1h"]
    opened = int(START.replace(minute=0).timestamp() * 1000)
    assert [k["t"] for k in btc] == [opened + h * 3_600_000 for h in range(3)]  # oldest first, each once
    for k in btc:
        row = rest[k["t"]]
        assert [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"]] == row[:11]
    assert after["data"]["k"]["x"] is False and after["data"]["k"]["t"] == opened + 3 * 3_600_000


def test_dropped_streams_make_the_client_reconnect():
    async def scenario(sim, client):
        async with sockets(sim, client).kline_socket("BTCUSDT", interval="1h") as stream:
            await receive(stream, lambda m: m.get("e") == "kline")
            sim.faults.drop_streams()
            error = await receive(stream, lambda m: m.get("e") == "error")
            again = await receive(stream, lambda m: m.get("e") == "kline", timeout=8)
            return error, again, len(sim.streams.connections)
    error, again, connections = run(scenario)
    assert error["type"] in ("ConnectionClosedOK", "ConnectionClosedError", "BinanceWebsocketClosed")
    assert again["s"] == "BTCUSDT" and connections == 1


def test_a_connection_subscribes_live_and_long_combined_urls_are_accepted():
    async def scenario(sim, client):
        names = [f"{s.lower()}@kline_{i}" for s in sorted(await sim.listing.rules()) for i in ("1h", "4h")]
        names += [f"zz{n:04d}usdt@kline_1h" for n in range(400 - len(names))]  # unknown streams are simply silent
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{sim.stream_url}stream?streams={'/'.join(names)}") as ws:
                combined = json.loads((await ws.receive(timeout=5)).data)
            async with session.ws_connect(f"{sim.stream_url}ws") as ws:
                await ws.send_json({"method": "SUBSCRIBE", "params": ["ethusdt@miniTicker"], "id": 1})
                reply = json.loads((await ws.receive(timeout=5)).data)
                await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
                listed = json.loads((await ws.receive(timeout=5)).data)
                ticker = json.loads((await ws.receive(timeout=5)).data)
        return len(names), combined, reply, listed, ticker
    count, combined, reply, listed, ticker = run(scenario)
    assert count == 400 and combined["stream"].endswith(("@kline_1h", "@kline_4h"))
    assert reply == {"result": None, "id": 1} and listed == {"result": ["ethusdt@miniTicker"], "id": 2}
    assert ticker["e"] == "24hrMiniTicker" and ticker["s"] == "ETHUSDT"


# ----- control API and CLI -----
def test_the_control_api_drives_accounts_faults_and_the_clock():
    clock = ManualClock(START)

    async def scenario(sim, client):
        async with aiohttp.ClientSession() as http:
            async def call(method: str, action: str, body: dict | None = None) -> Any:
                async with http.request(method, f"{sim.control_url}/{action}", json=body) as resp:
                    return resp.status, (await resp.json())
            created = await call("POST", "account", {"api_key": "k2", "api_secret": "s2", "balances": {"USDT": 500}})
            faults = await call("POST", "faults", {"reject_next": {"code": -2010, "msg": "Nope."}, "latency_ms": 5})
            moved = await call("POST", "clock", {"advance_seconds": 3600})
            state = await call("GET", "state")
            unknown = await call("GET", "balances?api_key=nobody")
        return created, faults, moved, state, unknown, sim.faults.latency_ms
    created, faults, moved, state, unknown, latency = run(scenario, clock=clock)
    assert created == (200, {"ok": True, "result": {"USDT": "500"}})
    assert faults[1]["result"]["reject_next"] == [{"code": -2010, "msg": "Nope.", "n": 1}] and latency == 5
    assert moved[1]["result"]["clock"] == "2025-03-01T13:30:00.000Z"
    assert state[1]["result"]["accounts"] == ["k2", KEY] and unknown[0] == 400


def test_the_command_line_server_serves_until_terminated():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    args = ["--port", "0", "--symbols", "20", "--api-key", "cli-k", "--api-secret", "cli-s", "--deposit", "250"]
    proc = subprocess.Popen([sys.executable, "-m", "standins.binance_api", *args], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        rest = proc.stdout.readline().split()[-1]
        stream = proc.stdout.readline().split()[-1]
        control = proc.stdout.readline().split()[-1].split("/{")[0]
        with urllib.request.urlopen(f"{rest}/v3/ping", timeout=5) as resp:
            assert json.load(resp) == {}
        with urllib.request.urlopen(f"{control}/balances?api_key=cli-k", timeout=5) as resp:
            assert json.load(resp)["result"] == {"USDT": "250"}
        assert rest.startswith("http://127.0.0.1:") and stream.startswith("ws://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGTERM)
        if proc.stdout:
            proc.stdout.close()
        assert proc.wait(timeout=10) == 0


class ListingPasses(SyntheticMarket):
    """The synthetic market, counting the passes over its whole listing the server makes."""

    passes = 0

    async def symbols(self):
        self.passes += 1
        return await super().symbols()


def test_a_request_about_one_symbol_costs_no_pass_over_the_whole_listing():
    """A ranking asks a few klines per symbol: had each request walked the whole listing, the server's work
    would grow with the listing times the ranked symbols (3,000 listed, 400 ranked: 4.8 million steps)."""
    async def main():
        clock = OffsetClock(START)
        market = ListingPasses(clock, seed=7, n_symbols=60)
        sim = BinanceSim(market, clock, stream_interval=60)
        sim.add_account(KEY, SECRET, {"USDT": CASH})
        async with sim:
            client = await connect(sim)
            try:
                names = [s["symbol"] for s in (await client.get_exchange_info())["symbols"]][:20]
                after_info = market.passes
                for name in names:
                    await client.get_klines(symbol=name, interval="1h", limit=2)
                    await client.get_avg_price(symbol=name)
                unknown = await refused(client.get_klines(symbol="NOSUCHUSDT", interval="1h"))
                return after_info, market.passes, unknown
            finally:
                await client.close_connection()

    after_info, after_requests, unknown = asyncio.run(main())
    assert after_info >= 1  # the counter sees the listing read for exchangeInfo
    assert after_requests == after_info  # 40 requests about one symbol each: not one more pass
    assert unknown.code == -1121
